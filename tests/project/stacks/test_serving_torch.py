"""From a trained PyTorch model to a served one, for every PyTorch stack: the generated project
ships a serving image (Dockerfile.serve, serving/) with the training pin, registers the model with
it, and its own serving tests train a small model and check `make serve-local`'s answers against
the trainer's predictions."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.stack_runs import XLA_PYTHON, answers_for, generate, run_env

# (stack, framework, task, target): each family of input (raw features, a number, base64 image
# bytes, text, a window of a series) once, and each stack once.
SERVED = [
    ("pytorch", "pytorch", "tabular_classification", "cpu"),
    ("pytorch", "pytorch", "tabular_regression", "cpu"),
    ("pytorch", "pytorch", "image_classification", "cpu"),
    ("pytorch", "pytorch", "text_classification", "cpu"),
    ("pytorch", "pytorch", "time_series_forecasting", "cpu"),
    ("pytorch_lightning", "pytorch_lightning", "image_classification", "cpu"),
    ("pytorch_xla", "pytorch", "tabular_classification", "tpu"),
]


def _project(tmp_path: Path, stack: str, framework: str, task: str, target: str) -> Path:
    return generate(answers_for(framework, task, target), tmp_path / "project", stack)


def _pin(requirements: str, name: str) -> str:
    (line,) = [x for x in requirements.splitlines() if x.startswith(f"{name}==")]
    return line


@pytest.mark.parametrize("stack,framework,task,target", SERVED)
def test_serving_files_and_registration_render(
    tmp_path: Path, stack: str, framework: str, task: str, target: str
) -> None:
    project = _project(tmp_path, stack, framework, task, target)
    for name in ("serving/server.py", "serving/predictor.py", "serving/local.py"):
        assert (project / name).is_file(), name
    dockerfile = (project / "Dockerfile.serve").read_text()
    # the serving image installs requirements.txt, where torch has the training pin
    assert "COPY requirements.txt" in dockerfile
    assert _pin((project / "requirements.txt").read_text(), "torch")
    assert "serve-local:" in (project / "Makefile").read_text()
    submit = (project / "submit.py").read_text()
    assert 'SERVING_CONTAINER = "Dockerfile.serve"' in submit


@pytest.mark.slow
@pytest.mark.parametrize("stack,framework,task,target", SERVED)
def test_served_model_answers_like_the_trainer(
    tmp_path: Path, stack: str, framework: str, task: str, target: str
) -> None:
    project = _project(tmp_path, stack, framework, task, target)
    python = XLA_PYTHON if stack == "pytorch_xla" else sys.executable
    if stack == "pytorch_xla":
        assert Path(XLA_PYTHON).exists(), "no .venv-xla: run `make xla-venv` (make test does)"
    env = run_env(PJRT_DEVICE="CPU") if stack == "pytorch_xla" else run_env()
    result = subprocess.run(
        [python, "-m", "pytest", "-v", "-p", "no:cacheprovider", "tests/test_serving.py"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-3000:]
    for name in (
        "test_served_predictions_are_the_trainers",
        "test_serve_local_command_checks_agreement",
        "test_dry_run_registers_the_model_with_the_serving_image",
    ):
        assert f"test_serving.py::{name} PASSED" in result.stdout, name
