"""From a trained scikit-learn, XGBoost or TensorFlow model to a served one: the generated project
ships a serving image (Dockerfile.serve, serving/) with the training pins, trains the registered
model with those pins and registers it with that image (parameter-server CustomJobs included),
and its own serving tests train a small model and check `make serve-local`'s answers against the
trainer's predictions."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.stack_runs import answers_for, generate, run_env
from tests.helpers.vertex import dry_run

# (stack, framework, task, extra answers): each stack, and each TensorFlow input family (raw
# features, base64 image bytes, text, a window of a series) once, the raw features in the
# parameter-server CustomJob (the slow tests below train the other tabular variants).
RENDERED = [
    ("scikit_learn", "scikit_learn", "tabular_regression", {}),
    ("xgboost", "xgboost", "tabular_classification", {}),
    ("tensorflow", "tensorflow", "image_classification", {}),
    ("tensorflow", "tensorflow", "text_classification", {}),
    ("tensorflow", "tensorflow", "time_series_forecasting", {}),
    (
        "tensorflow",
        "tensorflow",
        "tabular_classification",
        {"large_embeddings": True, "max_machines": 4},
    ),
]
PINS = {"scikit_learn": "scikit-learn", "xgboost": "xgboost", "tensorflow": "tensorflow-cpu"}


def _project(tmp_path: Path, stack: str, framework: str, task: str, extra: dict[str, Any]) -> Path:
    return generate(answers_for(framework, task, "cpu", **extra), tmp_path / "project", stack)


@pytest.mark.parametrize("stack,framework,task,extra", RENDERED)
def test_the_model_registers_with_the_serving_image_of_its_pins(
    tmp_path: Path, stack: str, framework: str, task: str, extra: dict[str, Any]
) -> None:
    project = _project(tmp_path, stack, framework, task, extra)
    for name in ("serving/server.py", "serving/predictor.py", "serving/local.py"):
        assert (project / name).is_file(), name
    dockerfile = (project / "Dockerfile.serve").read_text()
    # the serving image installs requirements.txt, where the framework has the training pin
    assert "COPY requirements.txt" in dockerfile and '"serving.server"' in dockerfile
    requirements = (project / "requirements.txt").read_text().splitlines()
    assert any(line.startswith(f"{PINS[stack]}==") for line in requirements)
    makefile = (project / "Makefile").read_text()
    assert "serve-local:" in makefile and "make serve-local" in makefile  # the target and help

    parent = "projects/my-gcp-project/locations/us-central1/models/7"
    report = dry_run(project, "submit", f"--parent-model={parent}")
    # tagged with the commit it is built from (no-commit: the test project is not in git)
    image = "us-central1-docker.pkg.dev/my-gcp-project/training/demo-serving:no-commit"
    # trained in the custom image (the pins), registered with the serving image (the same pins)
    assert report["container"] == "custom" and report["serving_image_uri"] == image
    methods = [r["method"] for r in report["requests"]]
    if extra:  # parameter servers: a CustomJob, then the upload of its chief's model
        assert methods == ["JobService.create_custom_job", "ModelService.upload_model"]
        upload = report["requests"][1]["request"]["request"]
        model, registry = upload["model"], upload
        assert model["artifact_uri"] == report["base_output_dir"] + "/model/"
    else:
        assert methods == ["PipelineService.create_training_pipeline"]
        registry = report["requests"][0]["request"]["training_pipeline"]
        model = registry["model_to_upload"]
    assert model["container_spec"]["image_uri"] == image
    assert model["container_spec"]["predict_route"] == "/predict"
    assert registry["parent_model"] == parent  # a new version under the same model

    if task == "image_classification":
        # tf-cpu.2-17 runs an older TensorFlow than the pin: that job trains, registers nothing
        prebuilt = dry_run(project, "submit", "--container", "prebuilt")
        assert prebuilt["image_uri"].endswith("/vertex-ai/training/tf-cpu.2-17.py310:latest")
        assert prebuilt["serving_image_uri"] is None
        assert any("model not registered" in note for note in prebuilt["notes"])
        pipeline = prebuilt["requests"][0]["request"]["training_pipeline"]
        assert "model_to_upload" not in pipeline


def test_the_projects_own_dry_run_test_passes(tmp_path: Path) -> None:
    """The generated test_serving.py's dry-run test (deselected where the slow tests below train):
    it expects the serving image tagged with the project's commit, as submit.py tags it."""
    project = _project(tmp_path, "tensorflow", "tensorflow", "text_classification", {})
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", "tests/test_serving.py"]
        + ["-k", "dry_run"],
        cwd=project,
        env=run_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-3000:]
    assert "test_dry_run_registers_the_model_with_the_serving_image PASSED" in result.stdout


# Trained in the slow tests, kept small: XGBoost and the TensorFlow image family. The
# scikit-learn projects' serving tests run in test_scikit_learn.py, which runs every test of a
# classification and a regression project.
SERVED = [
    ("xgboost", "xgboost", "tabular_regression", ""),
    # the serve-local command is the in-process check once more, with a second TensorFlow start
    ("tensorflow", "tensorflow", "image_classification", "not serve_local_command"),
]


@pytest.mark.slow
@pytest.mark.parametrize("stack,framework,task,skip", SERVED)
def test_served_model_answers_like_the_trainer(
    tmp_path: Path, stack: str, framework: str, task: str, skip: str
) -> None:
    project = _project(tmp_path, stack, framework, task, {})
    # the dry run is checked above, without training
    selected = " and ".join(filter(None, ["not dry_run", skip]))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", "tests/test_serving.py"]
        + ["-k", selected],
        cwd=project,
        env=run_env(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-3000:]
    names = ["test_served_predictions_are_the_trainers", "test_requests_it_cannot_take_get_400"]
    if not skip:
        names.append("test_serve_local_command_checks_agreement")
    for name in names:
        assert re.search(rf"test_serving.py::{name}(\[\w+\])? PASSED", result.stdout), name
