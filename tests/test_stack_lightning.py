"""The PyTorch Lightning stack: each target's Trainer settings, trained on CPU, DDP over two CPU
processes, resume after a kill, and the generated project's own tests."""

from __future__ import annotations

import json
import re
import socket
import subprocess
from pathlib import Path

import pytest
import torch

from tests.test_stack_pytorch_helpers import (
    MAIN_PYTHON,
    TASKS,
    answers_for,
    check_metrics,
    check_model,
    generate,
    kill_after_first_checkpoint,
    make_sample,
    run_env,
    run_generated_tests,
    train,
    trainer_command,
    val_rows,
)

STACK = "pytorch_lightning"
CPU = ["--accelerator=cpu", "--devices=1", "--strategy=auto"]


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
        ("multi_gpu", ['"gpu"', '"4"', '"ddp"', '"16-mixed"', "1"]),
        ("multi_node", ['"gpu"', '"4"', '"ddp"', '"16-mixed"', "2"]),
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_ddp_two_machines_as_vertex_sets_them_up(tmp_path: Path) -> None:
    """Two 'machines' with Vertex AI's variables (WORLD_SIZE=2 machines, RANK=machine, no
    LOCAL_RANK): the trainer maps them to Lightning's num_nodes and NODE_RANK, the DDP strategy
    trains one model over both (gloo on CPU) and only the chief writes it."""
    project = _project(tmp_path, "text_classification", "multi_node")
    make_sample(project, MAIN_PYTHON, "--rows=160")
    port = str(_free_port())
    processes = []
    for node in (0, 1):
        env = run_env(MASTER_ADDR="127.0.0.1", MASTER_PORT=port, WORLD_SIZE="2", RANK=str(node))
        command = [
            # 127 training rows: two shards of 63, each one batch short of --batch_size=64
            # and kept, not dropped; 33 validation rows: shards of 17 and 16
            *trainer_command(project, MAIN_PYTHON, "--epochs=2", "--val_fraction=0.205"),
            "--accelerator=cpu",
            "--devices=1",
            f"--model_dir={tmp_path / f'node{node}' / 'model'}",
            f"--metrics_path={tmp_path / f'node{node}' / 'metrics.json'}",
        ]
        processes.append(
            subprocess.Popen(
                command, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
            )
        )
    logs = [p.communicate(timeout=600)[0].decode() for p in processes]
    assert [p.returncode for p in processes] == [0, 0], "\n".join(logs)
    chief, other = tmp_path / "node0", tmp_path / "node1"
    assert sorted(p.name for p in (chief / "model").iterdir()) == [
        "model.pt",
        "preprocessing.json",
        "state_dict.pt",
    ]
    assert not (other / "model").exists() and not (other / "metrics.json").exists()
    metrics = json.loads((chief / "metrics.json").read_text())
    assert metrics["world_size"] == 2
    assert metrics["precision"] == "32-true"  # 16-mixed is the GPU default; CPUs use float32
    check_metrics(metrics, 2)
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
