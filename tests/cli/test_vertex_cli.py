"""`make dry-run` in a generated project of every kind prints the request as JSON, as a user
runs it (a subprocess, no credentials, no network); the custom-training projects' own Vertex AI
tests (the job, the best-trial helper) pass in the project's environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from advisor.project.render import select_stack
from tests.helpers.gen import recommendation_for, render_to
from tests.helpers.vertex import ruff, stacks_present

TUNED = {"hyperparameters": 3, "max_trials": 6, "parallel_trials": 2, "fault_tolerant": True}
TRAINER_ANSWERS = {
    "tensorflow": {"framework": "tensorflow", **TUNED},
    "pytorch": {"framework": "pytorch", "model_parameters": 200_000_000, **TUNED},
    "pytorch_lightning": {"framework": "pytorch_lightning", **TUNED},
    "pytorch_xla": {"framework": "pytorch", "model_parameters": 2_000_000_000, **TUNED},
    "scikit_learn": {"framework": "scikit_learn", **TUNED},
    "xgboost": {"framework": "xgboost", "data_size_gb": 20, **TUNED},
}
RUN_GENERATED_TESTS = ("scikit_learn", "tensorflow")
OTHER_KINDS: dict[str, tuple[dict[str, Any], str]] = {
    "automl-tabular": ({"task": "tabular_regression", "team": "no_ml_expertise"}, "automl"),
    "automl-image-edge": (
        {"task": "object_detection", "team": "no_ml_expertise", "deployment_target": "mobile"},
        "automl",
    ),
    "bigquery_ml": (
        {"task": "tabular_classification", "team": "sql_analysts", "data_location": "bigquery"},
        "bigquery_ml",
    ),
    "pretrained_api": ({"task": "ocr"}, "pretrained_api"),
    "not_covered": (
        {"data_location": "on_premises", "data_must_stay_on_premises": True},
        "not_covered",
    ),
}


def make(
    project: Path, target: str, python: str = sys.executable
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOOGLE_")}
    return subprocess.run(
        ["make", "-s", "--no-print-directory", target, f"PYTHON={python}"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def generate(answers: dict[str, Any], stack: str, tmp_path: Path) -> Path:
    answers = {"project_name": "cli-demo", **answers}
    assert select_stack(recommendation_for(answers)) == stack
    return render_to(answers, tmp_path / stack)


@pytest.mark.parametrize("stack", stacks_present())
def test_custom_training_dry_run_and_generated_vertex_tests(stack: str, tmp_path: Path) -> None:
    project = generate(TRAINER_ANSWERS[stack], stack, tmp_path)
    if "\nsample:" in (project / "Makefile").read_text():
        # The generated sample data first (its generator reports on stdout), so the dry run
        # uploads it and its stdout is the JSON alone.
        assert make(project, "sample").returncode == 0
    result = make(project, "dry-run")
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert report["dry_run"] is True and report["job"] == "tuning_job"
    assert report["requests"][0]["method"] == "JobService.create_hyperparameter_tuning_job"
    assert report["study_spec"]["parameters"]
    if stack not in RUN_GENERATED_TESTS:
        return
    # The project's own tests of the job and of best_trial.py, in its environment (they are the
    # same files for every stack; test_vertex_stacks.py checks each stack's job shapes).
    tests = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/test_vertex_job.py",
            "tests/test_best_trial.py",
        ],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert tests.returncode == 0, tests.stdout[-3000:]
    assert " passed" in tests.stdout.splitlines()[-1]


@pytest.mark.parametrize("kind", OTHER_KINDS)
def test_other_routes_dry_run(kind: str, tmp_path: Path) -> None:
    answers, stack = OTHER_KINDS[kind]
    project = generate(answers, stack, tmp_path)
    result = make(project, "dry-run")
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    if stack == "not_covered":
        assert report["service"] == "not_covered" and report["requests"] == []
        refused = make(project, "submit")
        assert refused.returncode != 0 and "Nothing to submit" in refused.stderr
    elif stack == "bigquery_ml":
        assert report["dry_run"] is True and report["jobs"]
    else:
        assert report["dry_run"] is True and report["requests"]
    readme = (project / "README.md").read_text()
    assert "| Decision | Choice |" in readme
    assert ruff(sorted(project.rglob("*.py"))) == ""
