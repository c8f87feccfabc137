"""The PyTorch Lightning stack: each target's Trainer settings, trained on CPU, DDP over two CPU
processes, resume after a kill, fully sharded (FSDP2) training of a plan that does not fit one
device, and the generated project's own tests."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch

from tests.helpers.stack_runs import (
    MAIN_PYTHON,
    SHARD_ROWS,
    TASKS,
    answers_for,
    check_metrics,
    check_model,
    generate,
    kill_after_first_checkpoint,
    kill_run_after,
    make_sample,
    run_env,
    run_generated_tests,
    run_with_losses,
    train,
    train_on_two_machines,
    train_streamed_shards,
    val_rows,
)

STACK = "pytorch_lightning"
CPU = ["--accelerator=cpu", "--devices=1", "--strategy=auto"]
# 20B parameters of a transformer: the sizing spreads the training state over 8 GPUs.
SHARDED_ANSWERS = {
    "project_name": "big",
    "framework": "pytorch_lightning",
    "task": "text_classification",
    "model_family": "transformer",
    "model_parameters": 20_000_000_000,
    "custom_ops": True,
}
# the same code at a size a CPU test trains in seconds, in float32 (CPUs have no bf16-mixed)
TINY_CPU = ["--model_parameters=60000", "--accelerator=cpu", "--precision=32-true"]


def _project(tmp_path: Path, task: str, target: str, **extra: object) -> Path:
    answers = answers_for("pytorch_lightning", task, target, **extra)
    return generate(answers, tmp_path / "project", STACK)


def _settings(project: Path) -> dict[str, str]:
    text = (project / "trainer" / "task.py").read_text()
    names = ("ACCELERATOR", "DEVICES", "STRATEGY", "PRECISION", "NUM_NODES")
    return {n: re.search(rf"^{n} = (.+)$", text, re.M).group(1) for n in names}  # type: ignore


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("cpu", ['"cpu"', '"1"', '"auto"', '"32-true"', "1"]),
        ("single_gpu", ['"gpu"', '"1"', '"auto"', '"16-mixed"', "1"]),
        # GPUs per machine come from sizing (the cheapest offer that fits), not the guide's 4x V100
        ("multi_gpu", ['"gpu"', '"2"', '"ddp"', '"16-mixed"', "1"]),
        ("multi_node", ['"gpu"', '"1"', '"ddp"', '"16-mixed"', "2"]),
    ],
)
def test_trainer_settings_follow_the_target(tmp_path: Path, target: str, expected: list) -> None:
    project = _project(tmp_path, "image_classification", target, hyperparameters=2)
    assert list(_settings(project).values()) == expected


def test_float64_gpu_target_trains_in_full_precision(tmp_path: Path) -> None:
    project = _project(tmp_path, "tabular_regression", "single_gpu", needs_float64=True)
    assert _settings(project)["PRECISION"] == '"32-true"'


@pytest.mark.parametrize("task", TASKS)
def test_every_task_renders_clean(tmp_path: Path, task: str) -> None:
    project = _project(tmp_path, task, "multi_gpu", hyperparameters=4)
    assert "class TaskModule(L.LightningModule)" in (project / "trainer" / "task.py").read_text()
    assert "lightning==" in (project / "requirements.txt").read_text()
    assert "train-ddp:" in (project / "Makefile").read_text()


@pytest.mark.slow
def test_single_gpu_target_falls_back_to_cpu_and_reports_tuning(tmp_path: Path) -> None:
    """No GPU here: the target's gpu/16-mixed becomes one CPU process in float32."""
    project = _project(tmp_path, "tabular_classification", "single_gpu", hyperparameters=2)
    make_sample(project)
    hpt = tmp_path / "hpt.json"
    metrics = train(
        project, MAIN_PYTHON, "--epochs=2", env=run_env(CLOUD_ML_HP_METRIC_FILE=str(hpt))
    )
    check_metrics(metrics, 2)
    assert metrics["device"] == "cpu" and metrics["precision"] == "32-true"
    check_model(project)
    reports = [json.loads(line) for line in hpt.read_text().splitlines() if line.strip()]
    assert [r["global_step"] for r in reports] == ["1", "2"]
    assert list((project / "out" / "logs").glob("events.out.tfevents.*"))


@pytest.mark.slow
def test_image_and_time_series(tmp_path: Path) -> None:
    image = generate(
        answers_for("pytorch_lightning", "image_classification", "cpu"), tmp_path / "img", STACK
    )
    make_sample(image, MAIN_PYTHON, "--rows=45")
    check_metrics(train(image, MAIN_PYTHON, *CPU, "--epochs=1", "--batch_size=16"), 1)
    check_model(image)

    series = generate(
        answers_for("pytorch_lightning", "time_series_forecasting", "cpu"), tmp_path / "ts", STACK
    )
    make_sample(series, MAIN_PYTHON, "--rows=160")
    metrics = train(series, MAIN_PYTHON, *CPU, "--epochs=1")
    assert metrics["metric"]["id"] == "rmse"
    check_model(series)


@pytest.mark.slow
def test_ddp_two_machines_as_vertex_sets_them_up(tmp_path: Path) -> None:
    """Two 'machines' with Vertex AI's variables: the trainer maps them to Lightning's num_nodes
    and NODE_RANK, the DDP strategy trains one model over both (gloo on CPU) and only the chief
    writes it."""
    project = _project(tmp_path, "text_classification", "multi_node")
    make_sample(project, MAIN_PYTHON, "--rows=160")
    # 127 training rows: two shards of 63, each one batch short of --batch_size=64 and kept, not
    # dropped; 33 validation rows: shards of 17 and 16
    flags = ("--epochs=2", "--val_fraction=0.205", "--accelerator=cpu", "--devices=1")
    metrics, _ = train_on_two_machines(project, tmp_path, *flags)
    assert metrics["precision"] == "32-true"  # 16-mixed is the GPU default; CPUs use float32
    # shards of unequal length through Lightning's DDP wrapper: no hang, each row scored once
    rows = val_rows(project, 0.205)
    assert rows % 2 == 1 and metrics["val_examples"] == rows


@pytest.mark.slow
def test_resumes_from_the_last_checkpoint_after_a_kill(tmp_path: Path) -> None:
    project = _project(tmp_path, "tabular_regression", "cpu")
    make_sample(project, MAIN_PYTHON, "--rows=300")
    checkpoint = project / "out" / "checkpoints" / "last.ckpt"
    kill_after_first_checkpoint(project, checkpoint, MAIN_PYTHON, "--epochs=30", "--patience=0")
    finished = torch.load(checkpoint, weights_only=False)["epoch"] + 1
    assert 1 <= finished < 30
    metrics = train(project, MAIN_PYTHON, "--epochs=30", "--patience=0")
    assert metrics["resumed_from_epoch"] == finished
    check_metrics(metrics, 30)
    check_model(project)


@pytest.mark.slow
def test_generated_smoke_tests_pass_including_ddp(tmp_path: Path) -> None:
    """Includes Lightning's own DDP launcher: two CPU processes on one machine."""
    project = _project(tmp_path, "sentiment_analysis", "multi_gpu")
    output = run_generated_tests(project)
    for name in ("test_one_epoch_trains_and_saves", "test_ddp_two_cpu_processes"):
        assert f"test_smoke.py::{name} PASSED" in output


def test_the_sharded_plan_renders_an_fsdp2_trainer(tmp_path: Path) -> None:
    project = generate(dict(SHARDED_ANSWERS), tmp_path / "project", STACK)
    settings = _settings(project)
    assert settings["STRATEGY"] == '"fsdp2"' and settings["PRECISION"] == '"bf16-mixed"'
    sharding_py = (project / "trainer" / "sharding.py").read_text()
    assert "class FSDP2Strategy(ModelParallelStrategy)" in sharding_py
    assert "fully_shard(block" in sharding_py
    readme = (project / "README.md").read_text()
    assert 'Fully sharded (`strategy="fsdp2"`, the default here)' in readme
    assert "def test_fsdp_two_cpu_processes" in (project / "tests" / "test_smoke.py").read_text()


def test_a_replicated_plan_keeps_ddp(tmp_path: Path) -> None:
    answers = {**SHARDED_ANSWERS, "model_parameters": 300_000_000, "custom_ops": False}
    project = generate(answers, tmp_path / "project", STACK)
    assert _settings(project)["STRATEGY"] == '"ddp"'
    assert (
        "def test_fsdp_two_cpu_processes" not in (project / "tests" / "test_smoke.py").read_text()
    )


@pytest.mark.slow
def test_fsdp2_two_gloo_processes_shard_resume_and_consolidate(tmp_path: Path) -> None:
    """The generated project's own test of the sharded path passes (two processes). A run of one
    process is killed after its first checkpoint, and two resume from it (torch.distributed
    .checkpoint reshards), with activation checkpointing: it learns, each process holds half of
    the model, and one consolidated model is written."""
    project = generate(dict(SHARDED_ANSWERS), tmp_path / "project", STACK)
    make_sample(project, MAIN_PYTHON, "--rows=240")
    output = run_generated_tests(project, select="test_fsdp_two_cpu_processes")
    assert "test_smoke.py::test_fsdp_two_cpu_processes PASSED" in output

    flags = (*TINY_CPU, "--dropout=0", "--epochs=5", "--patience=0", "--batch_size=16")
    flags += ("--activation_checkpointing",)
    marker = project / "out" / "checkpoints" / "LATEST"
    kill_run_after(marker, project, MAIN_PYTHON, *flags, "--devices=1")
    saved = json.loads(marker.read_text())
    assert 0 <= saved["epoch"] < 4  # Lightning's 0-based index of the finished epoch
    assert list((project / "out" / "checkpoints" / saved["folder"]).glob("*.distcp"))

    metrics, losses = run_with_losses(project, *flags, "--devices=2")
    assert metrics["sharded"] is True and metrics["world_size"] == 2
    assert metrics["resumed_from_epoch"] >= saved["epoch"] + 1
    assert losses and min(losses) == int(metrics["resumed_from_epoch"]) + 1  # type: ignore
    assert metrics["epochs_completed"] == 5
    assert losses[5] < losses[min(losses)]  # it learns
    shards = list((project / "out" / "checkpoints").glob("epoch-00004.ckpt/*.distcp"))
    assert len(shards) == 2  # every process wrote its own shard
    # each process holds about half of the parameters
    half = metrics["parameters"] / 2  # type: ignore[operator]
    assert abs(metrics["local_parameters"] - half) <= 0.02 * half  # type: ignore[operator]
    check_model(project)  # the consolidated model loads and predicts without the project's code
    state = torch.load(project / "out" / "model" / "state_dict.pt", weights_only=True)
    assert sum(v.numel() for v in state.values()) == metrics["parameters"]


@pytest.mark.slow
def test_ddp_streaming_reads_every_row_once_in_equal_steps(tmp_path: Path) -> None:
    """DDP over two CPU processes with --streaming on, on shards of 100 to 800 training rows
    (a collective every step, so both processes must take as many): each reads an equal share,
    and the shares add up to the table's training rows."""
    project = _project(tmp_path, "tabular_classification", "multi_gpu", label_column="outcome")
    ddp = ("--accelerator=cpu", "--devices=2", "--strategy=ddp", "--num_workers=0")
    metrics = train_streamed_shards(project, tmp_path, *ddp)
    assert metrics["world_size"] == 2 and metrics["epochs_completed"] == 2
    first, second = metrics["train_examples_per_rank"]
    assert first + second == sum(SHARD_ROWS) and abs(first - second) <= 1, (first, second)
    model = torch.jit.load(str(project / "out" / "model" / "model.pt"))
    assert model(torch.zeros(3, 7)).shape == (3, 2)  # row_id, f0..f5 -> two classes
