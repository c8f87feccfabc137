"""The PyTorch stack: every target rendered clean, trained on CPU, DDP over two processes,
resume after a kill, and the generated project's own tests."""

from __future__ import annotations

import json
import subprocess
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
    import_file,
    kill_after_first_checkpoint,
    make_sample,
    run_env,
    run_generated_tests,
    train,
    train_on_two_machines,
    train_streamed_shards,
    trainer_command,
    val_rows,
)
from tests.helpers.streaming_data import write_parquet_shards

STACK = "pytorch"


def _project(tmp_path: Path, task: str, target: str, **extra: object) -> Path:
    return generate(answers_for("pytorch", task, target, **extra), tmp_path / "project", STACK)


@pytest.mark.parametrize("task", [*TASKS, "sentiment_analysis", "object_detection"])
def test_every_task_renders_clean(tmp_path: Path, task: str) -> None:
    project = _project(tmp_path, task, "single_gpu", hyperparameters=3)
    task_py = (project / "trainer" / "task.py").read_text()
    assert "AMP_DEFAULT = True" in task_py  # single GPU: mixed precision tip
    assert "def build_parser() -> argparse.ArgumentParser" in task_py
    spec = json.loads((project / "trainer" / "hyperparameters.json").read_text())
    assert len(spec["parameters"]) == 3
    for parameter in spec["parameters"]:
        assert (
            f'"--{parameter["id"]}"'
            in (project / "trainer" / "task.py").read_text()
            + (project / "trainer" / "model.py").read_text()
        )
    if task == "object_detection":
        assert "no dedicated template" in (project / "README.md").read_text()


@pytest.mark.parametrize("target", ["cpu", "single_gpu", "multi_gpu", "multi_node"])
def test_every_target_renders_clean(tmp_path: Path, target: str) -> None:
    project = _project(
        tmp_path, "tabular_classification", target, all_params_discrete=True, hyperparameters=2
    )
    task_py = (project / "trainer" / "task.py").read_text()
    ddp = target in ("multi_gpu", "multi_node")
    assert f"DISTRIBUTED = {ddp}" in task_py
    assert f"AMP_DEFAULT = {target != 'cpu'}" in task_py
    makefile = (project / "Makefile").read_text()
    for goal in ("train:", "test:", "dry-run:", "submit:", "train-ddp:"):
        assert goal in makefile
    assert "optimize:" not in makefile
    spec = json.loads((project / "trainer" / "hyperparameters.json").read_text())
    assert {p["type"] for p in spec["parameters"]} == {"discrete"}


def test_compression_adds_make_optimize(tmp_path: Path) -> None:
    answers = answers_for(
        "pytorch", "image_classification", "cpu", deployment_target="edge", size_reduction_pct=50
    )
    project = generate(answers, tmp_path / "project", STACK)
    makefile = (project / "Makefile").read_text()
    assert "\noptimize:\n\t$(PYTHON) -m trainer.optimize\n" in makefile
    assert (project / "trainer" / "optimize.py").is_file()
    assert "make optimize" in (project / "README.md").read_text()


@pytest.mark.slow
def test_cpu_tabular_classification_reports_tuning_metric(tmp_path: Path) -> None:
    """Also reads Parquet."""
    project = _project(tmp_path, "tabular_classification", "cpu", hyperparameters=2)
    make_sample(project, MAIN_PYTHON, "--out=data/sample.parquet")
    hpt = tmp_path / "hpt.json"
    metrics = train(
        project,
        MAIN_PYTHON,
        "--epochs=2",
        f"--data={project / 'data' / 'sample.parquet'}",
        env=run_env(CLOUD_ML_HP_METRIC_FILE=str(hpt)),
    )
    check_metrics(metrics, 2)
    assert metrics["device"] == "cpu" and metrics["world_size"] == 1
    prediction = check_model(project, "data/sample.parquet")
    assert prediction.shape[1] == 2  # yes / no
    reports = [json.loads(line) for line in hpt.read_text().splitlines() if line.strip()]
    assert [r["global_step"] for r in reports] == ["1", "2"]
    assert all("accuracy" in r for r in reports)
    assert list((project / "out" / "logs").iterdir()), "no TensorBoard events"


@pytest.mark.slow
def test_bad_target_column_exits_2_and_shards_are_read_by_glob(tmp_path: Path) -> None:
    project = _project(tmp_path, "tabular_regression", "cpu")
    make_sample(project)
    result = subprocess.run(
        trainer_command(project, MAIN_PYTHON, "--target=price", "--epochs=1"),
        cwd=project,
        env=run_env(),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "no column 'price'" in result.stderr and "'label'" in result.stderr
    assert "Traceback" not in result.stderr

    # Sharded input (as Vertex AI managed datasets write it): a glob reads every shard.
    lines = (project / "data" / "sample.csv").read_text().splitlines()
    half = len(lines) // 2
    (project / "data" / "shard-0.csv").write_text("\n".join(lines[:half]) + "\n")
    (project / "data" / "shard-1.csv").write_text("\n".join([lines[0], *lines[half:]]) + "\n")
    (project / "data" / "sample.csv").unlink()
    metrics = train(project, MAIN_PYTHON, "--epochs=1", f"--data={project / 'data'}/shard-*.csv")
    check_metrics(metrics, 1)
    data = import_file(project / "trainer" / "data.py")
    x_train, _, x_val, _ = data.load_arrays(str(project / "data" / "shard-*.csv"))
    assert len(x_train) + len(x_val) == len(lines) - 1


@pytest.mark.slow
def test_single_gpu_image_classification_trains_on_cpu(tmp_path: Path) -> None:
    project = _project(tmp_path, "image_classification", "single_gpu")
    make_sample(project, MAIN_PYTHON, "--rows=60")
    metrics = train(project, MAIN_PYTHON, "--epochs=1", "--batch_size=16", "--image_size=24")
    check_metrics(metrics, 1)
    assert metrics["amp"] is False  # mixed precision is on by default, but only on CUDA
    # load_arrays decodes at the default size (32): the CNN pools globally, so any size predicts
    check_model(project)


@pytest.mark.slow
def test_text_transformer_and_time_series(tmp_path: Path) -> None:
    text = generate(
        answers_for("pytorch", "text_classification", "cpu", model_family="transformer"),
        tmp_path / "text",
        STACK,
    )
    assert "TinyTransformer" in (text / "trainer" / "model.py").read_text()
    make_sample(text, MAIN_PYTHON, "--rows=200")
    check_metrics(train(text, MAIN_PYTHON, "--epochs=1", "--batch_size=32"), 1)
    check_model(text)

    series = _project(tmp_path, "time_series_forecasting", "single_gpu")
    make_sample(series, MAIN_PYTHON, "--rows=200")
    metrics = train(series, MAIN_PYTHON, "--epochs=2", "--window=12", "--horizon=3")
    check_metrics(metrics, 2)
    assert metrics["metric"] == {"id": "rmse", "goal": "minimize"}
    model = torch.jit.load(str(series / "out" / "model" / "model.pt"))
    assert model(torch.linspace(50, 60, 12).reshape(1, 12, 1)).shape == (1, 3)


@pytest.mark.slow
def test_ddp_two_machines_as_vertex_sets_them_up(tmp_path: Path) -> None:
    """Two 'machines' with Vertex AI's variables: each `python -m trainer.task` re-launches itself
    under torchrun; the two processes train one DDP model (gloo) and only the chief writes it."""
    project = _project(tmp_path, "tabular_regression", "multi_node")
    make_sample(project)
    flags = ("--epochs=2", "--device=cpu", "--val_fraction=0.205", "--nproc_per_node=1")
    metrics, logs = train_on_two_machines(project, tmp_path, *flags)
    assert "--nnodes=2" in logs[0] and "--node_rank=1" in logs[1]
    # every validation row scored once: an odd split is not padded to two equal shards
    rows = val_rows(project, 0.205)
    assert rows % 2 == 1 and metrics["val_examples"] == rows


@pytest.mark.slow
def test_fsdp_streaming_shares_the_rows_evenly_and_validates_every_row(tmp_path: Path) -> None:
    """FSDP over two CPU processes with --streaming on (every step and every validation forward
    pass is a collective): each process reads an equal share of the training rows, and all 120
    validation rows are scored once."""
    project = _project(tmp_path, "tabular_classification", "multi_gpu", label_column="outcome")
    metrics = train_streamed_shards(
        project, tmp_path, "--device=cpu", "--nproc_per_node=2", "--fsdp"
    )
    check_metrics(metrics, 2)
    assert metrics["sharded"] is True and metrics["val_examples"] == 4 * 30
    assert metrics["train_examples_per_rank"] == [sum(SHARD_ROWS) // 2] * 2


EQUAL_SHARES = """
import argparse, json, sys
import numpy as np
from trainer import data
parser = argparse.ArgumentParser()
data.add_arguments(parser)
opts = parser.parse_args(["--label_column=outcome", "--split_column=part", "--streaming=on"])
prepared = data.prepare(sys.argv[1], opts)
column = prepared.meta["numeric"].index("row_id")
report = []
for workers in (0, 2):
    for epoch in (1, 2):
        ranks = []
        for rank in range(2):
            loader = data.make_loader(
                prepared.train, 64, train=True, rank=rank, world_size=2, num_workers=workers
            )
            data.set_epoch(loader, epoch)
            ranks.append([x[:, column].numpy().astype(int).tolist() for x, _ in loader])
        report.append({"workers": workers, "epoch": epoch, "ranks": ranks})
print(json.dumps(report))
"""


@pytest.mark.slow
def test_equal_step_streaming_shares_every_row_once_in_equal_steps(tmp_path: Path) -> None:
    """The streamed table as Lightning, FSDP and PyTorch/XLA read it (a collective every step,
    so every rank must take as many steps): two ranks, with 0 and 2 DataLoader workers, over
    shards of 100, 200, 400 and 800 training rows. Each epoch every training row is read exactly
    once, both ranks take the same number of steps, and the second epoch reads another order."""
    import pandas as pd

    project = _project(tmp_path, "tabular_classification", "multi_gpu", label_column="outcome")
    table = write_parquet_shards(tmp_path / "table", SHARD_ROWS, val_rows=30)
    result = subprocess.run(
        [str(MAIN_PYTHON), "-c", EQUAL_SHARES, table],
        cwd=project,
        env=run_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    frame = pd.concat(pd.read_parquet(p) for p in sorted((tmp_path / "table").glob("*.parquet")))
    train_ids = sorted(frame.loc[frame["part"] == "train", "row_id"].tolist())
    orders = []
    for run in json.loads(result.stdout.strip().splitlines()[-1]):
        first, second = run["ranks"]
        assert len(first) == len(second) > 0, run["workers"]
        read = [i for batches in run["ranks"] for batch in batches for i in batch]
        assert sorted(read) == train_ids, (run["workers"], run["epoch"])
        assert all(0 < len(batch) <= 64 for batches in run["ranks"] for batch in batches)
        orders.append(read)
    assert orders[0] != orders[1]  # epochs 1 and 2 read the units in other orders


@pytest.mark.slow
def test_ddp_streaming_ranks_read_disjoint_shards_that_cover_the_table(tmp_path: Path) -> None:
    """DDP over two CPU processes (gloo) with --streaming on: each process reads whole shards,
    its own. Shard k holds 100 * 2**k training rows, so a process's row count in hundreds has a
    binary digit for each shard it read: counts that share no digit and add up to the training
    rows mean the two processes read disjoint rows, all of them (unequal counts: DDP's Join
    lets them take different numbers of steps)."""
    project = _project(tmp_path, "tabular_classification", "multi_gpu", label_column="outcome")
    metrics = train_streamed_shards(project, tmp_path, "--device=cpu", "--nproc_per_node=2")
    check_metrics(metrics, 2)
    assert metrics["world_size"] == 2 and metrics["val_examples"] == 4 * 30
    first, second = metrics["train_examples_per_rank"]
    assert first + second == sum(SHARD_ROWS), metrics["train_examples_per_rank"]
    assert first % 100 == 0 and second % 100 == 0 and (first // 100) & (second // 100) == 0
    model_dir = project / "out" / "model"
    assert sorted(p.name for p in model_dir.iterdir()) == [
        "model.pt",
        "preprocessing.json",
        "state_dict.pt",
    ]
    model = torch.jit.load(str(model_dir / "model.pt"))
    assert model(torch.zeros(3, 7)).shape == (3, 2)


@pytest.mark.slow
def test_resumes_from_the_last_checkpoint_after_a_kill(tmp_path: Path) -> None:
    project = _project(tmp_path, "tabular_classification", "cpu")
    make_sample(project, MAIN_PYTHON, "--rows=300")
    checkpoint = project / "out" / "checkpoints" / "last.pt"
    kill_after_first_checkpoint(project, checkpoint, MAIN_PYTHON, "--epochs=40", "--patience=0")
    saved_epoch = torch.load(checkpoint, weights_only=True)["progress"]["epoch"]
    assert 1 <= saved_epoch < 40
    metrics = train(project, MAIN_PYTHON, "--epochs=40", "--patience=0")
    assert metrics["resumed_from_epoch"] == saved_epoch
    check_metrics(metrics, 40)
    check_model(project)


@pytest.mark.slow
def test_a_checkpoint_of_another_model_is_refused_without_a_traceback(tmp_path: Path) -> None:
    project = _project(tmp_path, "tabular_classification", "cpu")
    make_sample(project, MAIN_PYTHON, "--rows=120")
    train(project, MAIN_PYTHON, "--epochs=1", "--hidden_units=16")
    result = subprocess.run(
        trainer_command(project, MAIN_PYTHON, "--epochs=2", "--hidden_units=32"),
        cwd=project,
        env=run_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert "last.pt: this checkpoint is of a different model" in result.stderr
    assert "--checkpoint_dir" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_generated_smoke_tests_pass_including_ddp(tmp_path: Path) -> None:
    project = _project(tmp_path, "sentiment_analysis", "multi_gpu")
    output = run_generated_tests(project)
    for name in ("test_one_epoch_trains_and_saves", "test_ddp_two_cpu_processes"):
        assert f"test_smoke.py::{name} PASSED" in output
