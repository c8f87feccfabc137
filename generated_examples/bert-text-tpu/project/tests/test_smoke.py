"""Smoke test: one short epoch on the sample data through `python -m trainer.task` (the same
command as `make train`); the model, its SavedModel export and metrics.json are written, and
the saved model loads and predicts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data/reviews.csv"
sys.path.insert(0, str(ROOT))

from trainer import data  # noqa: E402
from trainer.task import METRIC, build_parser  # noqa: E402


def run_trainer(
    out: Path, *flags: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        "-m",
        "trainer.task",
        f"--data={SAMPLE}",
        f"--model_dir={out / 'model'}",
        f"--checkpoint_dir={out / 'checkpoints'}",
        f"--tensorboard_dir={out / 'logs'}",
        "--epochs=1",
        "--model_parameters=60000",  # the default is the answered size; the same code, small
        *flags,
    ]
    merged = {**os.environ, "CLOUD_ML_HP_METRIC_FILE": str(out / "hypertune.jsonl"), **(env or {})}
    merged.pop("TF_CONFIG", None)
    return subprocess.run(
        command, cwd=ROOT, env=merged, capture_output=True, text=True, timeout=900
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run")
    result = run_trainer(out)
    assert result.returncode == 0, result.stderr[-4000:]
    return out


def test_artifacts_are_written(trained: Path) -> None:
    model_dir = trained / "model"
    for name in ("model.keras", "saved_model.pb", "preprocessing.json"):
        assert (model_dir / name).is_file(), name
    metrics = json.loads((trained / "metrics.json").read_text())
    assert metrics["metric"]["id"] == METRIC["id"]
    assert np.isfinite(metrics["metric"]["value"])
    assert metrics["epochs_run"] == 1 and metrics["examples_per_second"] > 0
    assert list((trained / "logs" / "validation").glob("events.out.tfevents.*"))
    # A complete run removes its checkpoints, so the next run starts afresh.
    assert not (trained / "checkpoints" / "checkpoint").exists()


def test_saved_model_loads_and_predicts(trained: Path) -> None:
    import keras
    import tensorflow as tf

    model = keras.models.load_model(trained / "model" / "model.keras")
    x_train, y_train, x_val, y_val = data.load_arrays(str(SAMPLE))
    assert len(x_train) == len(y_train) and len(x_val) == len(y_val) > 0
    predicted = model.predict(x_val[:8], verbose=0)
    assert predicted.shape[0] == min(8, len(x_val)) and np.isfinite(predicted).all()
    np.testing.assert_allclose(predicted.sum(axis=1), 1.0, rtol=1e-4)
    exported = tf.saved_model.load(str(trained / "model"))
    texts = data.read_table(str(SAMPLE))[data.TEXT].astype(str).to_numpy()[:4]
    served = exported.signatures["serving_default"](text=tf.constant(texts))["probabilities"]
    served = served.numpy()
    meta = json.loads((trained / "model" / "preprocessing.json").read_text())
    expected = model.predict(data.make_vectorizer(meta)(texts), verbose=0)
    np.testing.assert_allclose(served, expected, rtol=1e-4, atol=1e-5)


def test_hyperparameters_are_trainer_flags() -> None:
    study = json.loads((ROOT / "trainer" / "hyperparameters.json").read_text())
    assert study["metric"] == METRIC
    parser = build_parser()
    for parameter in study["parameters"]:
        value = parameter["values"][0] if "values" in parameter else parameter["min"]
        parsed = parser.parse_args([f"--{parameter['id']}={value}"])
        assert float(getattr(parsed, parameter["id"])) == pytest.approx(float(value))


def test_missing_data_exits_2_without_traceback(tmp_path: Path) -> None:
    result = run_trainer(tmp_path, f"--data={tmp_path / 'missing.csv'}")
    assert result.returncode == 2
    assert "missing.csv" in result.stderr and "Traceback" not in result.stderr
