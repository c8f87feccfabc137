"""Compression that keeps accuracy, on real images: scikit-learn's digits (1,797 8x8 images),
written as PNG files with a CSV by the test.

Each stack trains once at --image_size 16 (not the trainers' default, so the optimize step must
take the size from the trained model's preprocessing.json), then its own `python -m
trainer.optimize` runs the engine's steps for an 80%-smaller edge model with a 3-point accuracy
tolerance. The shipped file is measured again here: its size against the trained model's file in
the same format, and its accuracy on the validation images.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.helpers.compression import final_cut_pct, run_checked
from tests.helpers.gen import recommendation_for, render_to

pytestmark = pytest.mark.slow

ANSWERS: dict[str, Any] = {
    "project_name": "digits-edge",
    "task": "image_classification",
    "deployment_target": "edge",
    "size_reduction_pct": 80,
    "accuracy_drop_tolerance_pct": 3.0,
}
STEPS = ["distillation", "pruning", "post_training_quantization"]
IMAGE_SIZE = 16
# The PyTorch CNN is widened so that weights, not the TorchScript container, fill the file (a
# 24k-parameter model's int8 container alone is over 20% of its float file).
TRAIN_FLAGS = {
    "tensorflow": [],
    "pytorch": ["--device=cpu", "--channels=32"],
}
OPTIMIZE_FLAGS = ["--distill_epochs=15"]


def write_digits(folder: Path) -> Path:
    """digits as 8-bit grey PNG files and a CSV of (image path, label)."""
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    (folder / "images").mkdir(parents=True)
    lines = ["image,label"]
    for i, (pixels, label) in enumerate(zip(digits.images, digits.target, strict=True)):
        grey = np.round(pixels * (255 / 16)).astype(np.uint8)
        Image.fromarray(grey, mode="L").save(folder / "images" / f"{i}.png")
        lines.append(f"images/{i}.png,{label}")
    table = folder / "digits.csv"
    table.write_text("\n".join(lines) + "\n")
    return table


@pytest.fixture(scope="module")
def digits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_digits(tmp_path_factory.mktemp("digits"))


class Run:
    """One stack: the project, trained once, optimized once."""

    def __init__(self, framework: str, workdir: Path, data: Path) -> None:
        self.answers = {**ANSWERS, "framework": framework}
        self.project = render_to(self.answers, workdir / framework)
        self.data = data
        model = ["--model_dir=out/model", "--checkpoint_dir=out/checkpoints"]
        model += ["--tensorboard_dir=out/logs", f"--data={data}"]
        size = [f"--image_size={IMAGE_SIZE}"]
        python = sys.executable
        run_checked(
            [python, "-m", "trainer.task", *model, *size, *TRAIN_FLAGS[framework]], self.project
        )
        self.metrics = json.loads((self.project / "out" / "metrics.json").read_text())
        optimize = [python, "-m", "trainer.optimize", "--model_dir=out/model", f"--data={data}"]
        self.log = run_checked([*optimize, *OPTIMIZE_FLAGS], self.project, timeout=900)
        self.report = json.loads((self.project / "compression_report.json").read_text())


@pytest.fixture(scope="module", params=["tensorflow", "pytorch"])
def run(
    request: pytest.FixtureRequest, digits: Path, tmp_path_factory: pytest.TempPathFactory
) -> Run:
    return Run(request.param, tmp_path_factory.mktemp("digits_runs"), digits)


def _validation(run: Run) -> tuple[np.ndarray, np.ndarray]:
    """The validation images as the trained model sees them, through the project's own data code."""
    code = (
        "import sys, numpy as np; from trainer import data; "
        + (
            f"a = data.load_arrays({str(run.data)!r}, image_size={IMAGE_SIZE}); "
            if run.answers["framework"] == "tensorflow"
            else "from trainer.task import build_parser; "
            f"a = data.load_arrays({str(run.data)!r}, build_parser().parse_args("
            f"['--image_size={IMAGE_SIZE}'])); "
        )
        + "np.savez('out/val.npz', x=a[2], y=a[3])"
    )
    run_checked([sys.executable, "-c", code], run.project)
    with np.load(run.project / "out" / "val.npz") as arrays:
        return arrays["x"], arrays["y"]


def _predict(run: Run, path: Path, x: np.ndarray) -> np.ndarray:
    if path.suffix == ".pt":
        import torch

        model = torch.jit.load(str(path))
        with torch.inference_mode():
            return model(torch.from_numpy(x)).numpy()
    import tensorflow as tf

    interpreter = tf.lite.Interpreter(model_path=str(path))
    inp = interpreter.get_input_details()[0]
    interpreter.resize_tensor_input(inp["index"], list(x.shape))
    interpreter.allocate_tensors()
    if inp["dtype"] == np.int8:
        scale, zero = inp["quantization"]
        x = np.clip(np.round(x / scale + zero), -128, 127)
    interpreter.set_tensor(inp["index"], x.astype(inp["dtype"]))
    interpreter.invoke()
    out = interpreter.get_output_details()[0]
    y = interpreter.get_tensor(out["index"]).astype(np.float32)
    if out["dtype"] == np.int8:
        scale, zero = out["quantization"]
        y = (y - zero) * scale
    return y


def test_the_engine_chooses_distillation_pruning_and_int8() -> None:
    for framework in TRAIN_FLAGS:
        chosen = recommendation_for({**ANSWERS, "framework": framework}).decisions["compression"]
        assert chosen["steps"] == STEPS


def test_the_trained_model_learns_digits(run: Run) -> None:
    metrics = run.metrics
    accuracy = metrics["validation"]["accuracy"] if "validation" in metrics else metrics["accuracy"]
    assert accuracy >= 0.95, metrics


def test_the_shipped_model_is_80_percent_smaller_within_3_points(run: Run) -> None:
    report, project = run.report, run.project
    assert report["steps_chosen"] == STEPS
    final = report["final"]
    assert final["all_targets_met"] is True, run.log[-3000:]
    assert report["closest"] is None
    cut = final_cut_pct(report, project)
    assert cut >= 80.0, cut
    assert final["size_cut_pct"] == pytest.approx(cut, abs=0.01)
    x_val, y_val = _validation(run)
    baseline = report["baseline"][0]
    accuracy = {}
    for name, artifact in (("baseline", baseline["artifact"]), ("final", final["artifact"])):
        path = project / artifact
        if path.suffix == ".keras":
            import keras

            pred = keras.models.load_model(path, compile=False).predict(x_val, verbose=0)
        else:
            pred = _predict(run, path, x_val)
        accuracy[name] = float(np.mean(pred.argmax(axis=1) == y_val))
    assert accuracy["baseline"] == pytest.approx(baseline["value"], abs=1.5 / len(y_val))
    assert 100 * (accuracy["baseline"] - accuracy["final"]) <= 3.0, accuracy
    served, *_ = report["serving_artifacts"]
    assert (project / served).read_bytes() == (project / final["artifact"]).read_bytes()


def test_the_student_is_as_wide_as_the_size_target_allows(run: Run) -> None:
    (student,) = [r for r in run.report["steps"] if r["step"] == "distillation"]
    details = student["details"]
    assert 0.5 <= details["width"] < 1.0
    assert details["predicted_bytes"] <= details["size_budget_bytes"]
