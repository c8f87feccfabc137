"""The Gemini stack: teams without ML engineers and text or video data get prompting and a
supervised tuning job built by the real Google Gen AI SDK offline, with an evaluation script;
the project's own tests pass, and bad input exits 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.gen import recommendation_for, render_to
from tests.helpers.vertex import project_tests, run_main

BASE = {
    "project_name": "gemini-demo",
    "gcp_project": "acme-ml",
    "region": "us-central1",
    "bucket": "gs://acme-ml-data",
    "team": "no_ml_expertise",
    "labels": "custom",
    "labeled_examples": 5000,
}
TASKS = [
    "text_classification",
    "sentiment_analysis",
    "entity_extraction",
    "video_classification",
    "video_action_recognition",
    "video_object_tracking",
]


def generate(task: str, tmp_path: Path) -> Path:
    answers = BASE | {"task": task}
    rec = recommendation_for(answers)
    assert rec.choice("service") == "foundation_model"
    return render_to(answers, tmp_path / task)


@pytest.mark.parametrize("task", TASKS)
def test_no_training_code_or_image_model_is_generated(task: str, tmp_path: Path) -> None:
    project = generate(task, tmp_path)
    files = {p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file()}
    assert {"tune.py", "classify.py", "evaluate.py", "prepare_data.py", "Makefile"} <= files
    assert not any(name.startswith("trainer/") for name in files)
    assert "Dockerfile" not in files
    readme = (project / "README.md").read_text()
    assert "migrating-to-gemini" in readme and "SVC-GEMINI-NO-ML-TEAM" in readme


@pytest.mark.parametrize("task", ["sentiment_analysis", "video_classification"])
def test_tuning_job_request_from_the_real_sdk(task: str, tmp_path: Path) -> None:
    project = generate(task, tmp_path)
    code, out, err = run_main(project, "tune", "--dry-run", "--epochs", "4")
    assert code == 0, err
    (sent,) = json.loads(out)["requests"]
    assert sent["url"].endswith("/projects/acme-ml/locations/us-central1/tuningJobs")
    spec = sent["body"]["supervisedTuningSpec"]
    assert spec["trainingDatasetUri"] == "gs://acme-ml-data/gemini-demo/data/train.jsonl"
    assert int(spec["hyperParameters"]["epochCount"]) == 4


@pytest.mark.parametrize("args", [["--adapter-size", "5"], ["--validation", "gs://b/v.csv"]])
def test_invalid_tuning_settings_exit_2(args: list[str], tmp_path: Path) -> None:
    project = generate("text_classification", tmp_path)
    code, out, err = run_main(project, "tune", "--dry-run", *args)
    assert (code, out) == (2, "")
    assert "tune.py: error" in err and "Traceback" not in err


@pytest.mark.parametrize("task", ["entity_extraction", "video_object_tracking"])
def test_generated_project_tests_pass_offline(task: str, tmp_path: Path) -> None:
    assert project_tests(generate(task, tmp_path)) == ""
