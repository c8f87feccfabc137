"""best_trial.py picks the best finished trial, whatever order the trials come back in."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from google.cloud.aiplatform_v1.types import study as gca_study

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from best_trial import best_trial, describe, metric_value  # noqa: E402

State = gca_study.Trial.State


def trial(trial_id: str, state: State, **metrics: float) -> gca_study.Trial:
    measurement = gca_study.Measurement(
        metrics=[gca_study.Measurement.Metric(metric_id=k, value=v) for k, v in metrics.items()]
    )
    return gca_study.Trial(
        id=trial_id,
        state=state,
        final_measurement=measurement,
        parameters=[gca_study.Trial.Parameter(parameter_id="learning_rate", value=0.01)],
    )


TRIALS = [
    trial("1", State.SUCCEEDED, accuracy=0.80, loss=0.50),
    trial("2", State.INFEASIBLE, accuracy=0.99),  # failed: its value is not trusted
    trial("3", State.SUCCEEDED, loss=0.10, accuracy=0.91),  # metrics in another order
    trial("4", State.ACTIVE, accuracy=0.95),  # still running
    trial("5", State.SUCCEEDED, loss=0.30),  # never reported accuracy
]


def test_maximize_picks_the_highest_succeeded_value_by_metric_id() -> None:
    assert best_trial(TRIALS, "accuracy", "maximize").id == "3"


def test_minimize_picks_the_lowest() -> None:
    assert best_trial(TRIALS, "loss", "minimize").id == "3"
    assert best_trial(TRIALS[:1] + TRIALS[4:], "loss", "minimize").id == "5"


def test_not_the_first_trial() -> None:
    assert best_trial(list(reversed(TRIALS)), "accuracy", "maximize").id == "3"


def test_none_when_no_trial_succeeded_with_the_metric() -> None:
    assert best_trial(TRIALS[1:2] + TRIALS[3:4], "accuracy", "maximize") is None
    assert best_trial(TRIALS, "f1", "maximize") is None


def test_bad_goal() -> None:
    with pytest.raises(ValueError):
        best_trial(TRIALS, "accuracy", "best")


def test_describe_names_the_trial_model_folder() -> None:
    summary = describe(TRIALS[2], "accuracy", "gs://bucket/job/runs/1/")
    assert summary["metric"] == {"accuracy": pytest.approx(0.91)}
    assert summary["parameters"] == {"learning_rate": pytest.approx(0.01)}
    assert summary["model_dir"] == "gs://bucket/job/runs/1/3/model/"
    assert metric_value(TRIALS[4], "accuracy") is None


def test_register_uploads_the_trial_model_with_the_serving_image(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import json

    import best_trial
    import submit

    model_dir = "gs://bucket/runs/1/7/model/"
    parent = f"projects/{submit.PROJECT}/locations/{submit.REGION}/models/42"
    assert best_trial.main(["--dry-run-register", model_dir, "--parent-model", parent]) == 0
    (sent,) = json.loads(capsys.readouterr().out)["requests"]
    assert sent["method"].endswith("upload_model")
    request = sent["request"]["request"]
    model = request["model"]
    assert model["artifact_uri"] == model_dir
    assert model["container_spec"]["image_uri"] == submit.serving_image()
    assert request["parent_model"] == parent  # a new version, not a new model
