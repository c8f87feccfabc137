"""The PyTorch/XLA stack when the sizing shards the model over a TPU slice: a transformer of the
answered size trained with SPMD over two PJRT CPU devices (CPU_NUM_DEVICES=2, in .venv-xla): the
parameters are split over both devices, a step runs, the sharded checkpoint resumes, and one
consolidated model is written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.helpers.stack_runs import (
    XLA_PYTHON,
    answers_for,
    check_model,
    generate,
    make_sample,
    run_env,
    train,
)

STACK = "pytorch_xla"
# 7B parameters of a PyTorch transformer: the sizing spreads the training state over a v5e slice.
ANSWERS = {
    "project_name": "big",
    "framework": "pytorch",
    "task": "text_classification",
    "model_family": "transformer",
    "model_parameters": 7_000_000_000,
}
TINY = "--model_parameters=60000"  # the same code at a size a CPU test trains in seconds


def test_the_sharded_plan_renders_an_spmd_trainer(tmp_path: Path) -> None:
    project = generate(dict(ANSWERS), tmp_path / "project", STACK)
    task_py = (project / "trainer" / "task.py").read_text()
    assert "SHARDED = True" in task_py and "xr.use_spmd()" in task_py
    spmd_py = (project / "trainer" / "spmd.py").read_text()
    assert "xs.mark_sharding(" in spmd_py and "SPMDSavePlanner()" in spmd_py
    assert (
        "test_spmd_shards_over_two_cpu_devices" in (project / "tests" / "test_smoke.py").read_text()
    )


def test_a_plan_that_fits_one_chip_keeps_one_replica_per_device(tmp_path: Path) -> None:
    answers = answers_for("pytorch", "image_classification", "tpu")
    project = generate(answers, tmp_path / "project", STACK)
    assert "SHARDED = False" in (project / "trainer" / "task.py").read_text()


@pytest.mark.slow
def test_spmd_on_two_cpu_devices_shards_steps_and_resumes(tmp_path: Path) -> None:
    assert Path(XLA_PYTHON).exists(), "no .venv-xla: run `make xla-venv` (make test does)"
    project = generate(dict(ANSWERS), tmp_path / "project", STACK)
    make_sample(project, XLA_PYTHON, "--rows=96")
    env = run_env(PJRT_DEVICE="CPU", CPU_NUM_DEVICES="2")
    flags = (TINY, "--batch_size=8", "--patience=0", "--dropout=0")
    first = train(project, XLA_PYTHON, *flags, "--epochs=1", env=env)
    assert first["sharded"] is True and first["devices"] == 2 and first["world_size"] == 1
    specs = first["sharding"]
    # each block's weights are split in two along one dimension, over devices 0 and 1
    assert specs["blocks.0.linear1.weight"] == "{devices=[2,1]0,1}", specs
    assert specs["blocks.0.linear2.weight"] == "{devices=[1,2]0,1}", specs
    assert abs(first["local_parameters"] - first["parameters"] / 2) <= 0.02 * first["parameters"]
    assert first["epochs_completed"] == 1 and first["train_loss"] > 0

    checkpoints = project / "out" / "checkpoints"
    latest = json.loads((checkpoints / "LATEST").read_text())
    assert latest["progress"]["epoch"] == 1
    assert (checkpoints / latest["folder"] / ".metadata").is_file()
    shutil.rmtree(project / "out" / "model")
    resumed = train(project, XLA_PYTHON, *flags, "--epochs=2", env=env)
    assert resumed["resumed_from_epoch"] == 1 and resumed["epochs_completed"] == 2
    assert resumed["train_loss"] < first["train_loss"]  # it goes on learning from the checkpoint
    check_model(project)  # the consolidated model loads and predicts with plain torch


@pytest.mark.slow
def test_spmd_with_no_epoch_to_train_still_writes_the_consolidated_model(tmp_path: Path) -> None:
    """--epochs 0 (exporting the model as built or as loaded with --pretrained): there is no
    epoch checkpoint to consolidate, so the trainer saves the shards of the model as it is."""
    project = generate(dict(ANSWERS), tmp_path / "project", STACK)
    make_sample(project, XLA_PYTHON, "--rows=48")
    env = run_env(PJRT_DEVICE="CPU", CPU_NUM_DEVICES="2")
    summary = train(project, XLA_PYTHON, TINY, "--batch_size=8", "--epochs=0", env=env)
    assert summary["sharded"] is True and summary["epochs_completed"] == 0
    latest = json.loads((project / "out" / "checkpoints" / "LATEST").read_text())
    assert latest["progress"]["epoch"] == 0
    check_model(project)
