"""The optimize step on a briefly trained model: each chosen technique ran (or says why not),
and every model it wrote loads, predicts and measures what the report says."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data/images.parquet"
sys.path.insert(0, str(ROOT))

from trainer import data  # noqa: E402
from trainer.optimize import STEPS, TARGETS  # noqa: E402
from trainer.optimize_report import score  # noqa: E402
from trainer.optimize_tflite import TFLiteModel  # noqa: E402

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}


def run(*command: str) -> None:
    done = subprocess.run(
        [sys.executable, *command], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    if not SAMPLE.exists():
        run(str(ROOT / "data" / "make_sample.py"))
    out = tmp_path_factory.mktemp("optimize")
    run(
        "-m",
        "trainer.task",
        f"--data={SAMPLE}",
        "--epochs=3",
        f"--model_dir={out / 'model'}",
        f"--checkpoint_dir={out / 'checkpoints'}",
        f"--tensorboard_dir={out / 'logs'}",
    )
    run(
        "-m",
        "trainer.optimize",
        f"--data={SAMPLE}",
        f"--model_dir={out / 'model'}",
        f"--output_dir={out / 'optimized'}",
        f"--report={out / 'report.json'}",
        "--epochs=1",
        "--distill_epochs=3",
    )
    return json.loads((out / "report.json").read_text())


@pytest.fixture(scope="module")
def validation() -> tuple[np.ndarray, np.ndarray]:
    _, _, x_val, y_val = data.load_arrays(str(SAMPLE))
    return x_val, y_val


def path_of(artifact: str) -> Path:
    return Path(artifact) if Path(artifact).is_absolute() else ROOT / artifact


def predict(path: Path, x: np.ndarray) -> np.ndarray:
    if path.suffix == ".tflite":
        return TFLiteModel(path).predict(x)
    import keras

    return keras.models.load_model(path, compile=False).predict(x, batch_size=256, verbose=0)


# Steps that may be skipped with a reason: TensorRT without an NVIDIA GPU.
SKIPPABLE = ["tensorrt"]


def test_every_chosen_step_is_reported(report: dict) -> None:
    assert report["steps_chosen"] == STEPS
    for step in STEPS:
        rows = [r for r in report["steps"] if r["step"] == step]
        assert rows, f"{step} is missing from the report"
        if step in SKIPPABLE and rows[0]["status"] == "skipped":
            assert rows[0]["reason"]
        else:
            assert any(r["status"] == "ok" and r["chained"] for r in rows), rows


def test_every_model_loads_predicts_and_matches_the_report(report: dict, validation) -> None:
    x_val, y_val = validation
    for row in report["baseline"] + report["steps"]:
        if row["status"] != "ok" or row["format"] not in ("keras", "tflite"):
            continue
        blob = path_of(row["artifact"]).read_bytes()
        assert row["size_bytes"] == len(blob)
        assert row["gzip_bytes"] == len(gzip.compress(blob, compresslevel=9, mtime=0))
        pred = predict(path_of(row["artifact"]), x_val)
        assert pred.shape[0] == len(y_val) and np.isfinite(pred).all()
        metric, value = score(pred, y_val, regression=row["metric"] == "loss")
        assert metric == row["metric"]
        # One validation example may flip on float rounding between two equal models.
        tolerance = 1.0 / len(y_val) + 1e-9 if metric == "accuracy" else abs(value) * 1e-3
        assert value == pytest.approx(row["value"], abs=tolerance), row["artifact"]


def test_the_model_to_serve_loads(report: dict, validation) -> None:
    x_val, _ = validation
    final = report["final"]["artifact"]
    if final is None or not final.endswith((".keras", ".tflite")):
        # Nothing ships: no step ran, or no model is within the accuracy tolerance (the report
        # then names the closest one).
        assert report["serving_artifacts"] == []
        assert final is None or report["closest"] is not None
        return
    (name,) = report["serving_artifacts"]
    assert path_of(name).read_bytes() == path_of(final).read_bytes()
    assert predict(path_of(name), x_val[:4]).shape[0] == 4


def test_targets_are_judged_against_the_answers(report: dict) -> None:
    assert report["targets"]["size_reduction_pct"] == TARGETS.size_reduction_pct
    for row in report["steps"]:
        check = row["targets"].get("accuracy_drop_tolerance_pct")
        if check is not None:
            assert check["met"] == (row["degradation"] <= TARGETS.accuracy_drop_tolerance_pct)


def test_pruning_reaches_the_configured_sparsity(report: dict) -> None:
    import keras

    row = next(r for r in report["steps"] if r["step"] == "pruning")
    model = keras.models.load_model(path_of(row["artifact"]), compile=False)
    target = row["details"]["target_sparsity"]
    assert row["details"]["pruned_layers"]
    for name in row["details"]["pruned_layers"]:
        kernel = np.asarray(model.get_layer(name).kernel)
        assert np.sum(kernel == 0) >= int(target * kernel.size), name


def test_the_student_is_smaller_than_the_teacher(report: dict) -> None:
    row = next(r for r in report["steps"] if r["step"] == "distillation")
    assert row["details"]["parameters"] < row["details"]["teacher_parameters"]
    assert row["size_bytes"] < report["baseline"][0]["size_bytes"]
