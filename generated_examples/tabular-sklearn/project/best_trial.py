"""The best trial of a finished Vertex AI hyperparameter tuning job.

    python best_trial.py projects/PROJECT/locations/REGION/hyperparameterTuningJobs/ID

A job's trials come back in the order they were created, not ranked, so `trials[0]` is only the
first trial. The best one is computed: only SUCCEEDED trials count (failed, infeasible and
still-running trials have no final measurement to trust), the metric is looked up by its id
(a trial may report several), and the study's goal says whether higher or lower wins.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent


def metric_value(trial: Any, metric_id: str) -> float | None:
    """The trial's final value of `metric_id`, or None when it has none."""
    for metric in trial.final_measurement.metrics:
        if metric.metric_id == metric_id:
            value = float(metric.value)
            return None if math.isnan(value) else value
    return None


def best_trial(trials: Iterable[Any], metric_id: str, goal: str) -> Any | None:
    """The SUCCEEDED trial with the best final `metric_id` for `goal`; None if there is none."""
    if goal not in ("maximize", "minimize"):
        raise ValueError(f"goal must be maximize or minimize, not {goal!r}")
    scored = [
        (value, trial)
        for trial in trials
        if trial.state.name == "SUCCEEDED" and (value := metric_value(trial, metric_id)) is not None
    ]
    if not scored:
        return None
    pick = max if goal == "maximize" else min
    return pick(scored, key=lambda pair: pair[0])[1]


def describe(trial: Any, metric_id: str, base_output_dir: str | None = None) -> dict[str, Any]:
    """The trial's id, metric and parameters (and its model folder when the base is known)."""
    summary: dict[str, Any] = {
        "trial_id": trial.id,
        "metric": {metric_id: metric_value(trial, metric_id)},
        "parameters": {p.parameter_id: p.value for p in trial.parameters},
    }
    if base_output_dir:
        # Each trial writes under <base_output_dir>/<trial id>/ (AIP_MODEL_DIR = .../model/).
        summary["model_dir"] = f"{base_output_dir.rstrip('/')}/{trial.id}/model/"
    return summary


def study_metric() -> tuple[str, str]:
    """The metric id and goal the tuning job optimized (trainer/hyperparameters.json)."""
    metric = json.loads((ROOT / "trainer" / "hyperparameters.json").read_text())["metric"]
    return metric["id"], metric["goal"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("job", help="the tuning job's resource name (or its numeric id)")
    parser.add_argument("--project", default="my-gcp-project")
    parser.add_argument("--region", default="us-central1")
    options = parser.parse_args(argv)

    from google.cloud import aiplatform

    aiplatform.init(project=options.project, location=options.region)
    job = aiplatform.HyperparameterTuningJob.get(options.job)
    metric_id, goal = study_metric()
    trial = best_trial(job.trials, metric_id, goal)
    if trial is None:
        print(f"best_trial.py: no SUCCEEDED trial reported {metric_id}", file=sys.stderr)
        return 1
    base = job.gca_resource.trial_job_spec.base_output_directory.output_uri_prefix
    print(json.dumps(describe(trial, metric_id, base or None), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
