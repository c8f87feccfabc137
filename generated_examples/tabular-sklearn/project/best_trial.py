"""The best trial of a finished Vertex AI hyperparameter tuning job.

    python best_trial.py projects/PROJECT/locations/REGION/hyperparameterTuningJobs/ID
    python best_trial.py JOB --register [--parent-model MODEL]   # and register its model
    python best_trial.py --dry-run-register gs://.../TRIAL/model/   # print the upload request

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


def register(model_dir: str, parent_model: str | None = None) -> Any:
    """Model.upload of a trial's model folder with the serving container submit.py registers
    trained models with; with `parent_model`, a new version of that model."""
    sys.path.insert(0, str(ROOT))
    import submit

    try:
        return submit.upload_model(model_dir, parent_model)
    except submit.SubmitError as exc:
        raise SystemExit(f"best_trial.py: {exc}") from None


def dry_run_register(model_dir: str, parent_model: str | None) -> dict[str, Any]:
    """The upload request, built by the real SDK with no credentials and no network."""
    import submit
    import vertex_dry_run

    with vertex_dry_run.recording() as recorder:
        submit.init(credentials=vertex_dry_run.anonymous_credentials())
        vertex_dry_run.until_sent(register, model_dir, parent_model)
    return {"dry_run": True, "requests": recorder.requests}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("job", nargs="?", help="the tuning job's resource name (or numeric id)")
    parser.add_argument("--project", default="my-gcp-project")
    parser.add_argument("--region", default="us-central1")
    parser.add_argument("--register", action="store_true", help="register the best model")
    parser.add_argument("--parent-model", help="register it as a new version of this model")
    parser.add_argument("--dry-run-register", metavar="MODEL_DIR", help="print the upload request")
    options = parser.parse_args(argv)
    if options.dry_run_register:
        request = dry_run_register(options.dry_run_register, options.parent_model)
        print(json.dumps(request, indent=2, default=str))
        return 0
    if not options.job:
        parser.error("the tuning job's resource name is required")

    from google.cloud import aiplatform

    aiplatform.init(project=options.project, location=options.region)
    job = aiplatform.HyperparameterTuningJob.get(options.job)
    metric_id, goal = study_metric()
    trial = best_trial(job.trials, metric_id, goal)
    if trial is None:
        print(f"best_trial.py: no SUCCEEDED trial reported {metric_id}", file=sys.stderr)
        return 1
    base = job.gca_resource.trial_job_spec.base_output_directory.output_uri_prefix
    summary = describe(trial, metric_id, base or None)
    print(json.dumps(summary, indent=2))
    if options.register:
        if "model_dir" not in summary:
            print("best_trial.py: the job has no base output directory", file=sys.stderr)
            return 1
        model = register(summary["model_dir"], options.parent_model)
        print(f"registered {model.resource_name} (version {model.version_id})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
