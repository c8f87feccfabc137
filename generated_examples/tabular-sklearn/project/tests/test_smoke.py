"""Smoke test: train briefly on the sample data, check the artifacts, load the model and predict."""

from __future__ import annotations

import json
from pathlib import Path

import joblib
import numpy as np

from trainer import data, model, task


def test_trains_saves_and_predicts(tmp_path: Path, monkeypatch) -> None:
    # Keep cloudml-hypertune's metric file inside the test folder.
    monkeypatch.setenv("CLOUD_ML_HP_METRIC_FILE", str(tmp_path / "hypertune" / "metrics"))
    model_dir = tmp_path / "outputs" / "model"
    # `--search none`: one fit; the local search itself is exercised by `make train`.
    result = task.main(["--model_dir", str(model_dir), "--search", "none"])

    metrics = json.loads((tmp_path / "outputs" / "metrics.json").read_text())
    assert metrics["validation"] == result["validation"]
    metric = model.METRIC["id"]
    assert np.isfinite(metrics["validation"][metric])

    pipeline = joblib.load(model_dir / "model.joblib")
    _, _, x_val, y_val = data.load_arrays(data.SAMPLE)
    predictions = pipeline.predict(x_val[:5].tolist())  # plain lists, as a prediction request
    assert len(predictions) == 5
    assert set(predictions) <= set(np.unique(y_val))
    # Better than always predicting the most frequent class would be.
    baseline = max(np.mean(y_val == c) for c in np.unique(y_val))
    assert metrics["validation"]["accuracy"] >= baseline - 0.05
    assert (tmp_path / "hypertune" / "metrics").is_file()


def test_tuned_flags_match_hyperparameters_json() -> None:
    spec = json.loads((Path(task.__file__).parent / "hyperparameters.json").read_text())
    assert [p["id"] for p in spec["parameters"]] == model.TUNED
    assert spec["metric"] == model.METRIC
    args = task.parse_args([f"--{p['id']}={p['values'][0]}" for p in model.PARAMETERS])
    assert all(getattr(args, p["id"]) is not None for p in model.PARAMETERS)
