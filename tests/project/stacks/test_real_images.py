"""The torch image stacks (PyTorch, Lightning, PyTorch/XLA on CPU PJRT) on real images, with
their defaults.

scikit-learn's digits (1,797 8x8 grey images of 0-9) are written by the test as PNG files and a
CSV of their paths, an ID column and the label `digit`; the label and ID columns come from the
answers file, so the trainer runs with nothing but --data (and where to write). Its images decode
in DataLoader workers; its validation accuracy must reach 0.95.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.helpers.stack_runs import MAIN_PYTHON, XLA_PYTHON, answers_for, generate, run_env, train

pytestmark = pytest.mark.slow


def write_digits(folder: Path) -> Path:
    """digits/<n>.png (0-16 scaled to 0-255) and digits.csv (image_id, image, digit)."""
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    (folder / "png").mkdir(parents=True)
    records = []
    for i, (image, digit) in enumerate(zip(digits.images, digits.target, strict=True)):
        name = f"png/{i:04d}.png"
        Image.fromarray((image * 255 / 16).astype(np.uint8)).save(folder / name)
        records.append({"image_id": i, "image": name, "digit": int(digit)})
    path = folder / "digits.csv"
    pd.DataFrame(records).to_csv(path, index=False)
    return path


# (framework answer, hardware target, stack, interpreter, environment)
STACKS = {
    "pytorch": ("pytorch", "cpu", MAIN_PYTHON, None),
    "pytorch_lightning": ("pytorch_lightning", "cpu", MAIN_PYTHON, None),
    "pytorch_xla": ("pytorch", "tpu", XLA_PYTHON, {"PJRT_DEVICE": "CPU"}),
}


@pytest.mark.parametrize("stack", list(STACKS))
def test_reaches_95_percent_on_digits_with_its_defaults(stack: str, tmp_path: Path) -> None:
    framework, target, python, env = STACKS[stack]
    answers = answers_for(
        framework, "image_classification", target, label_column="digit", id_columns="image_id"
    )
    project = generate(answers, tmp_path / "project", stack)
    csv = write_digits(tmp_path / "digits")
    metrics = train(project, python, f"--data={csv}", env=run_env(**env) if env else None)
    assert metrics["val_examples"] == round(1797 * 0.2)
    assert metrics["accuracy"] >= 0.95, metrics["accuracy"]
