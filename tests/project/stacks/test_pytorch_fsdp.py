"""The PyTorch stack when the sizing shards the model: a transformer of the answered size, trained
fully sharded (FSDP2) by one and two CPU processes (gloo), with sharded checkpoints that survive a
kill and one consolidated model at the end."""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

import pytest
import torch

from tests.helpers.stack_runs import (
    MAIN_PYTHON,
    check_model,
    generate,
    import_file,
    kill_run_after,
    make_sample,
    run_generated_tests,
    run_with_losses,
    train,
)

STACK = "pytorch"
# 20B parameters of a PyTorch transformer: the sizing spreads the training state over 8 GPUs.
ANSWERS = {
    "project_name": "big",
    "framework": "pytorch",
    "task": "text_classification",
    "model_family": "transformer",
    "model_parameters": 20_000_000_000,
    "custom_ops": True,
}
TINY = "--model_parameters=60000"  # the same code at a size a CPU test trains in seconds


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(dict(ANSWERS), tmp_path_factory.mktemp("fsdp") / "project", STACK)


def _built_parameters(project: Path, parameters: int, vocabulary: int = 30_000) -> int:
    model = import_file(project / "trainer" / "model.py")  # it imports only torch
    parser = argparse.ArgumentParser()
    model.add_arguments(parser)  # type: ignore[attr-defined]
    opts = parser.parse_args([f"--model_parameters={parameters}"])
    meta = {"vocabulary": ["<pad>"] * vocabulary, "max_length": 512, "num_classes": 2}
    with torch.device("meta"):  # shapes only: a 20B model allocates nothing
        net = model.build_model(meta, opts)  # type: ignore[attr-defined]
    return sum(p.numel() for p in net.parameters())


def test_the_sharded_plan_renders_an_fsdp_trainer(project: Path) -> None:
    task_py = (project / "trainer" / "task.py").read_text()
    assert "SHARDED = True" in task_py
    assert "fully_shard" in (project / "trainer" / "sharding.py").read_text()
    assert "default=20000000000" in (project / "trainer" / "model.py").read_text()


@pytest.mark.parametrize(
    ("parameters", "vocabulary"),
    [(20_000_000_000, 50_000), (7_000_000_000, 32_000), (340_000_000, 30_000), (60_000, 500)],
)
def test_the_transformer_has_the_answered_size(
    project: Path, parameters: int, vocabulary: int
) -> None:
    built = _built_parameters(project, parameters, vocabulary)
    assert abs(built - parameters) <= 0.2 * parameters, built


def test_a_replicated_plan_keeps_ddp(tmp_path: Path) -> None:
    answers = {**ANSWERS, "model_parameters": 300_000_000, "custom_ops": False}
    project = generate(answers, tmp_path / "project", STACK)
    assert "SHARDED = False" in (project / "trainer" / "task.py").read_text()


def _kill_after_checkpoint(project: Path, *args: str) -> int:
    """Kill the whole run once LATEST names a checkpoint; return that checkpoint's epoch."""
    marker = project / "out" / "checkpoints" / "LATEST"
    kill_run_after(marker, project, MAIN_PYTHON, *args)
    return int(json.loads(marker.read_text())["progress"]["epoch"])


@pytest.mark.slow
def test_fsdp_two_gloo_processes_shard_resume_and_consolidate(project: Path) -> None:
    make_sample(project, MAIN_PYTHON, "--rows=240")
    flags = (TINY, "--device=cpu", "--nproc_per_node=2", "--dropout=0", "--epochs=8")
    flags += ("--patience=0", "--batch_size=16")
    reference, reference_losses = run_with_losses(project, *flags)
    assert reference["sharded"] is True and reference["world_size"] == 2
    # each process holds about half of the parameters
    assert (
        abs(reference["local_parameters"] - reference["parameters"] / 2)
        <= 0.02 * reference["parameters"]
    )
    assert reference_losses[8] < reference_losses[1]  # it learns
    check_model(project)  # the consolidated model loads and predicts without the project's code
    state = torch.load(project / "out" / "model" / "state_dict.pt", weights_only=True)
    assert sum(v.numel() for k, v in state.items()) >= reference["parameters"]

    for folder in ("model", "checkpoints"):
        subprocess.run(["rm", "-rf", str(project / "out" / folder)], check=True)
    saved = _kill_after_checkpoint(project, *flags)
    assert 1 <= saved < 8
    shards = list((project / "out" / "checkpoints" / f"epoch-{saved:05d}").glob("*.distcp"))
    assert len(shards) == 2  # every process wrote its own shard
    resumed, losses = run_with_losses(project, *flags)
    assert resumed["resumed_from_epoch"] >= saved
    start = int(resumed["resumed_from_epoch"]) + 1
    assert losses and min(losses) == start
    for epoch, loss in losses.items():  # the same loss curve as the run that was never killed
        assert loss == pytest.approx(reference_losses[epoch], rel=1e-4, abs=1e-5), epoch
    assert resumed["epochs_completed"] == 8
    check_model(project)


@pytest.mark.slow
def test_fsdp_one_process_with_activation_checkpointing(project: Path, tmp_path: Path) -> None:
    make_sample(project, MAIN_PYTHON, "--rows=120")
    for folder in ("model", "checkpoints"):
        subprocess.run(["rm", "-rf", str(project / "out" / folder)], check=True)
    metrics = train(
        project,
        MAIN_PYTHON,
        TINY,
        "--device=cpu",
        "--epochs=2",
        "--activation_checkpointing",
    )
    assert metrics["sharded"] is True and metrics["world_size"] == 1
    assert metrics["local_parameters"] == metrics["parameters"]
    assert metrics["epochs_completed"] == 2
    check_model(project)


@pytest.mark.slow
def test_generated_tests_cover_the_sharded_path(tmp_path: Path) -> None:
    project = generate(dict(ANSWERS), tmp_path / "project", STACK)
    output = run_generated_tests(project)
    for name in ("test_one_epoch_trains_and_saves", "test_fsdp_two_cpu_processes"):
        assert f"test_smoke.py::{name} PASSED" in output
