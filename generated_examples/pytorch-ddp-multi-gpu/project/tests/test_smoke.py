"""Smoke tests: one short epoch on the sample data; the model is written, loads and predicts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from trainer import data
from trainer.task import build_parser

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample.csv"
ENV = {**os.environ, **{}}
DEVICE_ARGS = ["--device=cpu"]


@pytest.fixture(scope="module")
def sample() -> Path:
    if not SAMPLE.exists():
        subprocess.run([sys.executable, "data/make_sample.py"], cwd=ROOT, check=True)
    return SAMPLE


def train(
    out: Path,
    sample: Path,
    *extra: str,
    launcher: list[str] | None = None,
    env: dict[str, str] | None = None,
) -> None:
    command = [
        *(launcher or [sys.executable]),
        "-m",
        "trainer.task",
        f"--data={sample}",
        "--epochs=1",
        f"--model_dir={out / 'model'}",
        f"--checkpoint_dir={out / 'checkpoints'}",
        f"--tensorboard_dir={out / 'logs'}",
        *DEVICE_ARGS,
        *extra,
    ]
    subprocess.run(command, cwd=ROOT, env={**ENV, **(env or {})}, check=True, timeout=900)


def check_outputs(out: Path, sample: Path) -> dict:
    model_dir = out / "model"
    for name in ("model.pt", "state_dict.pt", "preprocessing.json"):
        assert (model_dir / name).is_file(), name
    assert any((out / "checkpoints").iterdir()), "no checkpoint written"
    meta = json.loads((model_dir / "preprocessing.json").read_text())
    assert meta["model_args"], "preprocessing.json does not say which flags built the model"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs_completed"] == 1
    model = torch.jit.load(str(model_dir / "model.pt"))
    _, _, x_val, y_val = data.load_arrays(str(sample))
    with torch.no_grad():
        prediction = model(torch.from_numpy(x_val[:8]))
    assert prediction.shape[0] == len(y_val[:8])
    # every validation row counted exactly once, however many processes shared them
    assert metrics["val_examples"] == len(y_val)
    assert torch.isfinite(prediction).all()
    return metrics


def test_one_epoch_trains_and_saves(tmp_path: Path, sample: Path) -> None:
    train(tmp_path, sample)
    metrics = check_outputs(tmp_path, sample)
    assert metrics["metric"]["id"] in metrics


def test_tuned_flags_are_trainer_flags() -> None:
    spec = json.loads((ROOT / "trainer" / "hyperparameters.json").read_text())
    parser = build_parser()
    for parameter in spec["parameters"]:
        value = parameter["values"][0] if "values" in parameter else parameter["min"]
        args = parser.parse_args([f"--{parameter['id']}={value}"])
        assert getattr(args, parameter["id"]) == pytest.approx(value)


def test_ddp_two_cpu_processes(tmp_path: Path, sample: Path) -> None:
    """The multi-GPU code path: DistributedDataParallel over two CPU processes (gloo)."""
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    train(tmp_path, sample, launcher=torchrun)
    assert check_outputs(tmp_path, sample)["world_size"] == 2
