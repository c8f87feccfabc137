"""Shared by the PyTorch, Lightning and PyTorch/XLA stack tests: generate, train, check.

Trainers run as subprocesses with the venv that has their framework (.venv, or .venv-xla for
torch_xla), on tiny data for one or two epochs. This module holds no tests of its own.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import black
import torch

from advisor.project.render import select_stack
from tests.helpers.gen import import_generated, recommendation_for, render_to
from tests.helpers.streaming_data import write_parquet_shards
from tests.helpers.targets import STACK_CASES

REPO = Path(__file__).resolve().parents[2]
MAIN_PYTHON = sys.executable
XLA_PYTHON = str(REPO / ".venv-xla" / "bin" / "python")
RUFF = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")

# Answers that make the engine pick each hardware target (tests/helpers/targets.py).
TARGETS: dict[str, dict[str, Any]] = {
    name: case.answers for name, case in STACK_CASES["torch"].items()
}
TASKS = [
    "tabular_classification",
    "tabular_regression",
    "image_classification",
    "text_classification",
    "time_series_forecasting",
]


def answers_for(framework: str, task: str, target: str, **extra: Any) -> dict[str, Any]:
    return {
        "project_name": "demo",
        "framework": framework,
        "task": task,
        **TARGETS[target],
        **extra,
    }


def generate(answers: dict[str, Any], dest: Path, stack: str) -> Path:
    """Render the project, check the stack the engine picked, and that the output is clean."""
    assert select_stack(recommendation_for(answers)) == stack
    render_to(answers, dest)
    check_clean(dest)
    return dest


def check_clean(project: Path) -> None:
    """No Jinja left over; generated Python is black-formatted and passes ruff."""
    mode = black.Mode(line_length=100)
    for path in project.rglob("*"):
        if not path.is_file() or path.suffix not in {".py", ".md", ".txt", ".json", ""}:
            continue
        text = path.read_text(encoding="utf-8")
        bare = text.replace("${{", "")  # a GitHub Actions expression, not Jinja
        for marker in ("{{", "{%", "{#"):
            assert marker not in bare or path.suffix == ".md", f"{path}: Jinja left over"
        if path.suffix == ".py":
            assert black.format_str(text, mode=mode) == text, f"{path} is not black-formatted"
    json.loads((project / "trainer" / "hyperparameters.json").read_text())
    result = subprocess.run(
        [RUFF, "check", "--no-cache", "--line-length=100", "--select=E,F,W,I,B,UP,SIM", "."],
        cwd=project,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def run_env(**extra: str) -> dict[str, str]:
    """The environment of a trainer run: no Vertex AI variables leak in; one thread per process
    (the test machine is small and shared)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIP_", "CLOUD_ML_"))}
    env.update({"OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1", **extra})
    return env


def make_sample(project: Path, python: str = MAIN_PYTHON, *args: str) -> Path:
    subprocess.run(
        [python, "data/make_sample.py", *args], cwd=project, check=True, capture_output=True
    )
    return project / "data" / "sample.csv"


def trainer_command(project: Path, python: str, *args: str, launcher: list[str] | None = None):
    out = project / "out"
    return [
        *(launcher or [python]),
        "-m",
        "trainer.task",
        f"--data={project / 'data' / 'sample.csv'}",
        f"--model_dir={out / 'model'}",
        f"--checkpoint_dir={out / 'checkpoints'}",
        f"--tensorboard_dir={out / 'logs'}",
        *args,
    ]


def train(
    project: Path,
    python: str = MAIN_PYTHON,
    *args: str,
    launcher: list[str] | None = None,
    env: dict[str, str] | None = None,
    timeout: int = 600,
) -> dict[str, Any]:
    """Run the generated trainer; return its metrics.json."""
    command = trainer_command(project, python, *args, launcher=launcher)
    result = subprocess.run(
        command, cwd=project, env=env or run_env(), capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"{command}\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    return json.loads((project / "out" / "metrics.json").read_text())


# Training rows of the files train_streamed_shards writes (30 validation rows each): a process's
# row count in hundreds has a binary digit for each file it read.
SHARD_ROWS = [100 * 2**k for k in range(4)]


def train_streamed_shards(project: Path, tmp_path: Path, *flags: str) -> dict[str, Any]:
    """The trainer with --streaming on over write_parquet_shards(SHARD_ROWS), split by its
    `part` column, 2 epochs in batches of 64; its metrics.json."""
    table = write_parquet_shards(tmp_path / "table", SHARD_ROWS, val_rows=30)
    streamed = (f"--data={table}", "--streaming=on", "--split_column=part")
    return train(project, MAIN_PYTHON, *streamed, "--epochs=2", "--batch_size=64", *flags)


def import_file(path: Path) -> ModuleType:
    """A generated module, imported under a unique name (every project has its own `trainer`)."""
    return import_generated(path)


def check_model(project: Path, data_file: str = "data/sample.csv") -> torch.Tensor:
    """model.pt loads without the project's code and predicts on its validation inputs."""
    model_dir = project / "out" / "model"
    meta = json.loads((model_dir / "preprocessing.json").read_text())
    model = torch.jit.load(str(model_dir / "model.pt"))
    state = torch.load(model_dir / "state_dict.pt", weights_only=True)
    assert set(state) == set(model.state_dict())
    data = import_file(project / "trainer" / "data.py")
    _, _, x_val, y_val = data.load_arrays(str(project / data_file))
    with torch.no_grad():
        prediction = model(torch.from_numpy(x_val))
    assert torch.isfinite(prediction).all()
    if "num_classes" in meta:
        assert prediction.shape == (len(y_val), meta["num_classes"])
        assert y_val.max() < meta["num_classes"]
    else:
        assert prediction.shape == y_val.shape
    return prediction


def check_metrics(metrics: dict[str, Any], epochs: int) -> None:
    assert metrics["epochs_completed"] == epochs
    metric = metrics["metric"]["id"]
    assert metric in metrics and metrics[metric] == metrics[metric]  # present, not NaN
    assert metrics["time_to_first_step_s"] > 0


def wait_for(path: Path, process: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, "the trainer ended before its first checkpoint"
        assert time.monotonic() < deadline, f"no {path} after {timeout}s"
        time.sleep(0.02)


def kill_after_first_checkpoint(
    project: Path, checkpoint: Path, python: str, *args: str, env: dict[str, str] | None = None
) -> None:
    """Start a long run, kill it (SIGKILL, as a preempted machine) once a checkpoint exists."""
    command = trainer_command(project, python, *args)
    process = subprocess.Popen(
        command,
        cwd=project,
        env=env or run_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for(checkpoint, process)
    finally:
        process.kill()
        process.communicate()
    assert process.returncode != 0, "the run finished before it could be killed"
    assert not (project / "out" / "model" / "model.pt").exists()


def process_tree(root: int) -> list[int]:
    """root and its descendants (launchers may start their workers in sessions of their own)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo += children.get(pid, [])
    return tree


def kill_run_after(marker: Path, project: Path, python: str, *args: str) -> None:
    """Start a multi-process run and SIGKILL all of it (launcher and workers, as a preempted
    machine) once `marker` exists; the model must not have been written yet."""
    process = subprocess.Popen(
        trainer_command(project, python, *args),
        cwd=project,
        env=run_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(marker, process)
    finally:
        for pid in process_tree(process.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait()
    assert not (project / "out" / "model" / "model.pt").exists(), "finished before the kill"


def run_generated_tests(
    project: Path, python: str = MAIN_PYTHON, *, select: str = "", **env: str
) -> str:
    """The generated project's own tests (those `select` names, pytest -k), as a user runs them."""
    chosen = ["-k", select] if select else []
    result = subprocess.run(
        [python, "-m", "pytest", "-v", "-p", "no:cacheprovider", *chosen, "tests"],
        cwd=project,
        env=run_env(**env),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-3000:]
    return result.stdout


def val_rows(project: Path, val_fraction: float) -> int:
    """How many validation rows the project's sample data gives with this --val_fraction."""
    code = (
        "from trainer import data; options = data.default_options();"
        f" options.val_fraction = {val_fraction};"
        " print(len(data.load_arrays('data/sample.csv', options)[3]))"
    )
    done = subprocess.run(
        [MAIN_PYTHON, "-c", code], cwd=project, capture_output=True, text=True, check=True
    )
    return int(done.stdout.strip().splitlines()[-1])


def train_on_two_machines(
    project: Path, out: Path, *flags: str
) -> tuple[dict[str, Any], list[str]]:
    """Two 'machines' as Vertex AI sets them up (MASTER_ADDR/PORT, WORLD_SIZE=2, RANK=machine, no
    LOCAL_RANK), each running `python -m trainer.task` with `flags`: both must exit 0 and only the
    chief may write the model and metrics. Returns the chief's metrics and both logs."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = str(s.getsockname()[1])
    processes = []
    for node in (0, 1):
        env = run_env(MASTER_ADDR="127.0.0.1", MASTER_PORT=port, WORLD_SIZE="2", RANK=str(node))
        command = [
            *trainer_command(project, MAIN_PYTHON, *flags),
            f"--model_dir={out / f'node{node}' / 'model'}",
            f"--metrics_path={out / f'node{node}' / 'metrics.json'}",
        ]
        processes.append(
            subprocess.Popen(
                command, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
            )
        )
    logs = [p.communicate(timeout=600)[0].decode() for p in processes]
    assert [p.returncode for p in processes] == [0, 0], "\n".join(logs)
    chief, other = out / "node0", out / "node1"
    written = sorted(p.name for p in (chief / "model").iterdir())
    assert written == ["model.pt", "preprocessing.json", "state_dict.pt"]
    assert not (other / "model").exists() and not (other / "metrics.json").exists()
    metrics: dict[str, Any] = json.loads((chief / "metrics.json").read_text())
    assert metrics["world_size"] == 2
    check_metrics(metrics, 2)
    return metrics, logs


def epoch_losses(log: str) -> dict[int, float]:
    """epoch -> training loss, from a trainer's log lines."""
    return {
        int(m.group(1)): float(m.group(2))
        for m in re.finditer(r"epoch (\d+) train_loss=([0-9.]+) ", log)
    }


def run_with_losses(project: Path, *args: str) -> tuple[dict[str, object], dict[int, float]]:
    """One local run of the generated trainer: its metrics.json and its loss per epoch."""
    command = trainer_command(project, MAIN_PYTHON, *args)
    result = subprocess.run(
        command, cwd=project, env=run_env(), capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-5000:]
    metrics = json.loads((project / "out" / "metrics.json").read_text())
    return metrics, epoch_losses(result.stderr)
