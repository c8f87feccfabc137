"""The shared data flags in the image, text and time-series trainers (trainer/inputs.py).

Each stack's trainer.data.prepare runs in this process on small tables the test writes (a CSV of
image paths or a folder of class folders, a text CSV, a time-series CSV), with the label column
`outcome` and the ID column `row_id` named in the answers file. --id_columns, --split_column,
--validation_split and --schema mean what they mean for a table, and bad data raises the same
DataError (a missing column, no rows, one class, mixed types). PyTorch Lightning and PyTorch/XLA
share PyTorch's trainer/data.py: a run of each shows its trainer turns a DataError into exit code
2 without a traceback. Nothing here trains a model.
"""

from __future__ import annotations

import importlib
import json
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.helpers.stack_runs import MAIN_PYTHON, XLA_PYTHON, answers_for, generate, run_env
from tests.helpers.vertex import project_imports

pytestmark = pytest.mark.slow

LABEL = "outcome"
FAMILIES = {
    "image": "image_classification",
    "text": "text_classification",
    "time_series": "time_series_forecasting",
}
PROJECTS = [
    ("pytorch", "image"),
    ("pytorch", "text"),
    ("pytorch", "time_series"),
    ("tensorflow", "image"),
    ("tensorflow", "text"),
    ("tensorflow", "time_series"),
]
ROWS = 40  # images or texts; a series has 3 x ROWS steps
WINDOW = 24  # both stacks' default --window


@pytest.fixture(scope="module")
def projects() -> dict[tuple[str, str], Path]:
    """Each (stack, family) project, generated the first time a test asks for it."""
    return {}


def project_for(
    projects: dict[tuple[str, str], Path], key: tuple[str, str], tmp: pytest.TempPathFactory
) -> Path:
    if key not in projects:
        stack, family = key
        framework, target = ("pytorch", "tpu") if stack == "pytorch_xla" else (stack, "cpu")
        answers = answers_for(
            framework, FAMILIES[family], target, label_column=LABEL, id_columns="row_id"
        )
        projects[key] = generate(answers, tmp.mktemp(stack) / family, stack)
    return projects[key]


@pytest.fixture(params=PROJECTS, ids=["-".join(p) for p in PROJECTS])
def project(
    request: pytest.FixtureRequest,
    projects: dict[tuple[str, str], Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, str]:
    return project_for(projects, request.param, tmp_path_factory), request.param[1]


def write_pngs(folder: Path, count: int) -> list[str]:
    """`count` 8x8 PNG files (names relative to `folder`), alternately bright and dark."""
    from PIL import Image

    rng = np.random.default_rng(0)
    (folder / "png").mkdir(parents=True, exist_ok=True)
    names = []
    for i in range(count):
        level = 40 if i % 2 else 200
        pixels = np.clip(rng.normal(level, 10, (8, 8, 3)), 0, 255).astype(np.uint8)
        names.append(f"png/{i:03d}.png")
        Image.fromarray(pixels).save(folder / names[-1])
    return names


def good_table(family: str, folder: Path) -> pd.DataFrame:
    """Labelled rows of the family, the ID column and a numeric extra column `weight`."""
    n = ROWS * 3 if family == "time_series" else ROWS
    rows = np.arange(n)
    frame = pd.DataFrame({"row_id": rows + 1000})
    if family == "image":
        frame["image"] = write_pngs(folder, n)
        frame[LABEL] = np.where(rows % 2, "dark", "bright")
    elif family == "text":
        frame["text"] = [f"review {i} was {'great' if i % 2 else 'awful'}" for i in rows]
        frame[LABEL] = np.where(rows % 2, "pos", "neg")
    else:
        frame["timestamp"] = pd.date_range("2025-01-01", periods=n).strftime("%Y-%m-%d")
        frame[LABEL] = 10 + np.sin(rows / 3.0)
    frame["weight"] = np.linspace(0.0, 1.0, n)
    return frame


def write(frame: pd.DataFrame, folder: Path, name: str) -> Path:
    path = folder / f"{name}.csv"
    frame.to_csv(path, index=False)
    return path


def prepare(project: Path, path: Path | str, *flags: str) -> tuple[int, int, dict[str, Any]]:
    """(training examples, validation examples, metadata) of the trainer's own data.prepare,
    with these command-line flags."""
    with project_imports(project):
        return prepare_with(importlib.import_module("trainer.task"), path, *flags)


def prepare_with(task: ModuleType, path: Path | str, *flags: str) -> tuple[int, int, Any]:
    args = task.build_parser().parse_args([f"--data={path}", *flags])
    data: ModuleType = task.data
    if hasattr(task, "data_options"):  # TensorFlow: prepare takes the data flags as keywords
        split = data.prepare(args.data, **task.data_options(args))
        return len(split.y_train), len(split.y_val), split.meta
    prepared = data.prepare(args.data, args)
    return len(prepared.train), len(prepared.val), prepared.meta


def data_error(project: Path, path: Path | str, *flags: str) -> str:
    """The message of the DataError the trainer's data.prepare raises."""
    # in the project's import context: the trainer imports some modules when first used
    with project_imports(project):
        task = importlib.import_module("trainer.task")
        with pytest.raises(task.data.DataError) as caught:
            prepare_with(task, path, *flags)
    return str(caught.value)


def expected(family: str, n: int, val_rows: int) -> tuple[int, int]:
    """(training, validation) examples: rows, or in a series windows of WINDOW steps (training
    windows end before the first validation step; validation ones predict each later step)."""
    if family == "time_series":
        return n - val_rows - WINDOW, val_rows
    return n - val_rows, val_rows


def test_validation_split_and_the_answers_id_column(
    project: tuple[Path, str], tmp_path: Path
) -> None:
    root, family = project
    frame = good_table(family, tmp_path)
    path, n = write(frame, tmp_path, "good"), len(frame)
    val = n - int(n * 0.8) if family == "time_series" else round(n * 0.2)
    train_count, val_count, meta = prepare(root, path)
    assert (train_count, val_count) == expected(family, n, val)
    val = n - int(n * 0.5) if family == "time_series" else n // 2
    assert prepare(root, path, "--validation_split=0.5")[:2] == expected(family, n, val)
    if "features" in meta:  # TensorFlow's series: every numeric column but the ID is a feature
        assert meta["features"] == [LABEL, "weight"]
    frame = frame.drop(columns=["row_id"])  # the answers file names it: it must be there
    message = data_error(root, write(frame, tmp_path, "no_id"))
    assert "'row_id'" in message and "'weight'" in message and "no_id.csv" in message


def test_split_column_marks_the_validation_rows(project: tuple[Path, str], tmp_path: Path) -> None:
    root, family = project
    frame = good_table(family, tmp_path)
    n = len(frame)
    if family == "time_series":  # the last 30 steps
        frame["part"] = np.where(np.arange(n) >= n - 30, "validation", "train")
        val = 30
    else:
        frame["part"] = np.where(np.arange(n) % 4 == 0, "val", "train")
        val = n // 4
    path = write(frame, tmp_path, "split")
    assert prepare(root, path, "--split_column=part")[:2] == expected(family, n, val)
    if family == "time_series":  # validation steps followed by training steps
        frame.loc[n - 1, "part"] = "train"
        message = data_error(root, write(frame, tmp_path, "gap"), "--split_column=part")
        assert "'part'" in message and "last ones in time order" in message
    frame["part"] = "train"
    message = data_error(root, write(frame, tmp_path, "one_part"), "--split_column=part")
    assert "'part'" in message and "every row in one part" in message
    message = data_error(root, path, "--split_column=fold")
    assert "'fold'" in message and "'part'" in message


def bad_tables(family: str, folder: Path) -> dict[str, tuple[pd.DataFrame, list[str]]]:
    """name -> (table, words the message must hold)."""
    good = good_table(family, folder)
    mixed = good.copy()
    mixed["weight"] = mixed["weight"].astype(object)
    mixed.loc[3, "weight"] = "n/a (lost)"
    cases = {
        "missing_label": (good.rename(columns={LABEL: "result"}), ["'outcome'", "'result'"]),
        "empty": (good.head(0), ["no rows", "'outcome'"]),
        "mixed_types": (mixed, ["'weight'", "n/a (lost)", "--schema"]),
    }
    if family == "time_series":  # a forecast needs numbers
        words = good.assign(**{LABEL: ["high", "low"] * (len(good) // 2)})
        cases["bad_label"] = (words, ["'outcome'", "numeric"])
    else:
        cases["bad_label"] = (good.assign(**{LABEL: "same"}), ["'outcome'", "one class"])
    return cases


CASES = ["missing_label", "empty", "mixed_types", "bad_label"]


@pytest.mark.parametrize("case", CASES)
def test_bad_table_raises_data_error_naming_file_and_column(
    project: tuple[Path, str], tmp_path: Path, case: str
) -> None:
    root, family = project
    frame, words = bad_tables(family, tmp_path)[case]
    path = write(frame, tmp_path, case)
    message = data_error(root, path)
    for word in [str(path), *words]:
        assert word in message, (word, message)
    if case == "mixed_types":  # --schema says how to read it: no error
        schema = tmp_path / "schema.json"
        schema.write_text(json.dumps({"weight": "ignore"}))
        assert prepare(root, path, f"--schema={schema}")[1] > 0


IMAGE_STACKS = ["pytorch", "tensorflow"]


@pytest.mark.parametrize("stack", IMAGE_STACKS)
def test_image_folder_of_class_folders(
    projects: dict[tuple[str, str], Path],
    tmp_path_factory: pytest.TempPathFactory,
    tmp_path: Path,
    stack: str,
) -> None:
    root = project_for(projects, (stack, "image"), tmp_path_factory)
    names = write_pngs(tmp_path / "flat", 24)
    folder = tmp_path / "by_class"
    for i, name in enumerate(names):
        target = folder / ("dark" if i % 2 else "bright") / Path(name).name
        target.parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "flat" / name).rename(target)
    # the answers file's ID column is not in a folder: no IDs to leave out here
    train, val, meta = prepare(root, folder, "--id_columns=")
    assert (train, val) == (24 - round(24 * 0.2), round(24 * 0.2))
    assert [str(c) for c in meta["classes"]] == ["bright", "dark"]
    (folder / "stray.png").write_bytes((folder / "dark" / Path(names[1]).name).read_bytes())
    message = data_error(root, folder, "--id_columns=")
    assert "'stray.png'" in message and "class folder" in message
    frame = good_table("image", tmp_path)
    frame.loc[5, "image"] = "png/missing.png"
    message = data_error(root, write(frame, tmp_path, "lost"))
    assert "png/missing.png" in message and "does not exist" in message


# The stacks whose trainer/task.py the tabular tests (test_real_data.py) do not run; their
# trainer/data.py is the PyTorch one tested above.
RUNS = [("pytorch_lightning", "image"), ("pytorch_xla", "time_series")]


@pytest.mark.parametrize("key", RUNS, ids=["-".join(k) for k in RUNS])
def test_trainer_exits_2_without_a_traceback(
    projects: dict[tuple[str, str], Path],
    tmp_path_factory: pytest.TempPathFactory,
    tmp_path: Path,
    key: tuple[str, str],
) -> None:
    root = project_for(projects, key, tmp_path_factory)
    frame = good_table(key[1], tmp_path).rename(columns={LABEL: "result"})
    path = write(frame, tmp_path, "unlabelled")
    xla = key[0] == "pytorch_xla"
    result = subprocess.run(
        [
            XLA_PYTHON if xla else MAIN_PYTHON,
            "-m",
            "trainer.task",
            f"--data={path}",
            f"--model_dir={tmp_path / 'm'}",
        ],
        cwd=root,
        env=run_env(PJRT_DEVICE="CPU") if xla else run_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert str(path) in result.stderr and "'outcome'" in result.stderr
