"""The PyTorch/XLA stack: TPU and TPU Pod targets (PyTorch and Lightning answers) rendered clean,
trained on the CPU PJRT runtime inside .venv-xla (torch 2.9.0 + torch-xla 2.9.0, made by
`make xla-venv`), resume after a kill, and the generated project's own tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.stack_runs import (
    TASKS,
    XLA_PYTHON,
    answers_for,
    check_metrics,
    check_model,
    generate,
    kill_after_first_checkpoint,
    make_sample,
    run_env,
    run_generated_tests,
    train,
)

STACK = "pytorch_xla"


def _env(**extra: str) -> dict[str, str]:
    return run_env(PJRT_DEVICE="CPU", **extra)


def _needs_xla_venv() -> None:
    assert Path(XLA_PYTHON).exists(), "no .venv-xla: run `make xla-venv` (make test does)"


@pytest.mark.parametrize("framework", ["pytorch", "pytorch_lightning"])
@pytest.mark.parametrize("target", ["tpu", "tpu_pod"])
def test_tpu_targets_render_clean(tmp_path: Path, framework: str, target: str) -> None:
    project = generate(
        answers_for(framework, "image_classification", target), tmp_path / "p", STACK
    )
    task_py = (project / "trainer" / "task.py").read_text()
    assert "BF16_ON_TPU = True" in task_py
    assert "torch_xla.launch(" in task_py and "pl.MpDeviceLoader(" in task_py
    for outdated in ("MpModelWrapper", "TPUClusterResolver", "xla_device()", "XLA_USE_BF16"):
        assert outdated not in task_py
    assert "torch-xla[tpu]==2.9.0" in (project / "requirements.txt").read_text()
    assert "PJRT_DEVICE ?= CPU" in (project / "Makefile").read_text()
    readme = (project / "README.md").read_text()
    assert ("PyTorch Lightning" in readme) == (framework == "pytorch_lightning")


@pytest.mark.parametrize("task", TASKS)
def test_every_task_renders_clean(tmp_path: Path, task: str) -> None:
    generate(answers_for("pytorch", task, "tpu", hyperparameters=3), tmp_path / "p", STACK)


@pytest.mark.slow
def test_tpu_tabular_trains_on_cpu_pjrt_in_bfloat16(tmp_path: Path) -> None:
    _needs_xla_venv()
    project = generate(
        answers_for("pytorch", "tabular_classification", "tpu", hyperparameters=2),
        tmp_path / "p",
        STACK,
    )
    make_sample(project, XLA_PYTHON)
    hpt = tmp_path / "hpt.json"
    metrics = train(
        project,
        XLA_PYTHON,
        "--epochs=2",
        "--precision=bf16",
        env=_env(CLOUD_ML_HP_METRIC_FILE=str(hpt)),
    )
    check_metrics(metrics, 2)
    assert metrics["device"] == "xla:CPU" and metrics["bf16"] is True
    check_model(project)  # saved by torch 2.9 with torch_xla, loaded here by plain torch
    reports = [json.loads(line) for line in hpt.read_text().splitlines() if line.strip()]
    assert [r["global_step"] for r in reports] == ["1", "2"]


@pytest.mark.slow
def test_resumes_from_the_last_checkpoint_after_a_kill(tmp_path: Path) -> None:
    _needs_xla_venv()
    project = generate(
        answers_for("pytorch_lightning", "tabular_regression", "tpu_pod"), tmp_path / "p", STACK
    )
    make_sample(project, XLA_PYTHON, "--rows=300")
    # 2B parameters fit no single v5e chip: the plan is sharded (SPMD), and its checkpoint is a
    # folder of shards per epoch, with LATEST, written last, naming the newest complete one
    latest = project / "out" / "checkpoints" / "LATEST"
    args = ("--epochs=15", "--patience=0")
    kill_after_first_checkpoint(project, latest, XLA_PYTHON, *args, env=_env())
    saved_epoch = json.loads(latest.read_text())["progress"]["epoch"]
    assert 1 <= saved_epoch < 15
    metrics = train(project, XLA_PYTHON, *args, env=_env())
    assert metrics["resumed_from_epoch"] == saved_epoch
    check_metrics(metrics, 15)
    check_model(project)


@pytest.mark.slow
def test_time_series_lstm_trains_on_cpu_pjrt(tmp_path: Path) -> None:
    _needs_xla_venv()
    project = generate(
        answers_for("pytorch", "time_series_forecasting", "tpu"), tmp_path / "p", STACK
    )
    make_sample(project, XLA_PYTHON, "--rows=120")
    metrics = train(project, XLA_PYTHON, "--epochs=1", "--window=8", "--batch_size=32", env=_env())
    check_metrics(metrics, 1)
    assert metrics["metric"]["id"] == "rmse"


@pytest.mark.slow
def test_generated_smoke_tests_pass_for_images(tmp_path: Path) -> None:
    """The image pipeline (decoding in the loader) and both precisions, in the XLA venv."""
    _needs_xla_venv()
    project = generate(answers_for("pytorch", "image_classification", "tpu"), tmp_path / "p", STACK)
    make_sample(project, XLA_PYTHON, "--rows=45")
    output = run_generated_tests(project, XLA_PYTHON, PJRT_DEVICE="CPU")
    for name in ("test_one_epoch_trains_and_saves", "test_bfloat16_path_trains"):
        assert f"test_smoke.py::{name} PASSED" in output
