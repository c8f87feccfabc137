"""Vertex AI Experiments logging, offline: the SDK's calls are intercepted and recorded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from trainer import experiments  # noqa: E402

# The SDK functions the trainer calls, replaced by recorders (nothing reaches the network).
LOGGED = ("init", "start_run", "log_params", "log_time_series_metrics", "log_metrics", "end_run")
# Runs the trainer with the SDK's calls recorded to the JSON file OUT (set before it runs).
DRIVER = """
import json, runpy, sys
from unittest import mock
from google.cloud import aiplatform

calls = []


def recorder(name):
    def record(*args, **kwargs):
        calls.append([name, list(args), kwargs])

    return record


def new_run(*args, **kwargs):
    raise ValueError("no such run")  # as the SDK does for a run that does not exist yet


patches = {name: recorder(name) for name in LOGGED}
with mock.patch.multiple(aiplatform, ExperimentRun=new_run, **patches):
    sys.argv = ["trainer.task", *sys.argv[1:]]
    try:
        runpy.run_module("trainer.task", run_name="__main__")
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise
with open(OUT, "w") as handle:
    json.dump(calls, handle, default=str)
"""
DEVICE_ARGS = ["--epochs=2"]
# The transformer's default is the answered size; the tests build the same code small.
DEVICE_ARGS += ["--model_parameters=60000"]


def recorded() -> tuple[dict[str, mock.Mock], Any]:
    from google.cloud import aiplatform

    mocks = {name: mock.Mock(name=name) for name in LOGGED}
    missing = mock.Mock(side_effect=ValueError("no such run"))
    return mocks, mock.patch.multiple(aiplatform, ExperimentRun=missing, **mocks)


def test_no_experiment_logs_nothing() -> None:
    mocks, patch = recorded()
    with patch:
        run = experiments.Run("").start({"learning_rate": 0.1})
        run.epoch(1, {"loss": 0.5})
        run.finish({"accuracy": 0.9})
    assert not run.active
    assert all(not m.called for m in mocks.values())


def test_a_non_chief_replica_logs_nothing() -> None:
    mocks, patch = recorded()
    with patch:
        run = experiments.Run("churn", "run-1", enabled=False).start({"seed": 1})
        run.finish({"accuracy": 0.9})
    assert all(not m.called for m in mocks.values())


def test_params_epochs_and_final_metrics_reach_the_run() -> None:
    mocks, patch = recorded()
    with patch:
        run = experiments.Run("churn", "run-1").start(
            {"learning_rate": 0.1, "layers": 2, "data": "gs://b/x.csv", "amp": True, "none": None}
        )
        run.history({"loss": [0.9, 0.5], "val_accuracy": [0.6, 0.8]}, first_step=1)
        run.finish({"accuracy": 0.8, "device": "cpu", "nan": float("nan"), "stopped": False})
    mocks["init"].assert_called_once_with(experiment="churn")
    mocks["start_run"].assert_called_once_with("run-1", resume=False)
    mocks["log_params"].assert_called_once_with(
        {"learning_rate": 0.1, "layers": 2, "data": "gs://b/x.csv", "amp": "true"}
    )
    assert mocks["log_time_series_metrics"].call_args_list == [
        mock.call({"loss": 0.9, "val_accuracy": 0.6}, step=1),
        mock.call({"loss": 0.5, "val_accuracy": 0.8}, step=2),
    ]
    # Only finite numbers are metrics: text, flags and NaN are left out.
    mocks["log_metrics"].assert_called_once_with({"accuracy": 0.8})
    mocks["end_run"].assert_called_once_with()


def test_a_tuning_trial_logs_to_its_own_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUD_ML_TRIAL_ID", "7")
    args = experiments.argparse.Namespace(experiment="churn", experiment_run="job-1", seed=3)
    mocks, patch = recorded()
    with patch:
        experiments.start(args).finish({})
    mocks["start_run"].assert_called_once_with("job-1-trial-7", resume=False)
    mocks["log_params"].assert_called_once_with({"seed": 3})


def test_run_names_are_checked_by_the_parser() -> None:
    parser = experiments.argparse.ArgumentParser()
    experiments.add_arguments(parser)
    with pytest.raises(SystemExit):
        parser.parse_args(["--experiment=Not_Valid"])
    assert parser.parse_args(["--experiment=churn-2"]).experiment == "churn-2"


def default_data() -> None:
    """The trainer's default sample data, generated first where the project has a generator."""
    generator = ROOT / "data" / "make_sample.py"
    if generator.exists():
        subprocess.run([sys.executable, str(generator)], cwd=ROOT, check=True, timeout=600)


def test_the_trainer_logs_its_run(tmp_path: Path) -> None:
    """A short training run with --experiment: its flags, per-epoch metrics and final metrics."""
    default_data()
    out = tmp_path / "calls.json"
    driver = f"OUT = {str(out)!r}\nLOGGED = {LOGGED!r}\n" + DRIVER
    command = [
        sys.executable,
        "-c",
        driver,
        "--experiment=test-experiment",
        "--experiment_run=test-run",
        f"--model_dir={tmp_path / 'model'}",
        f"--checkpoint_dir={tmp_path / 'checkpoints'}",
        f"--tensorboard_dir={tmp_path / 'logs'}",
        *DEVICE_ARGS,
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIP_", "CLOUD_ML_"))}
    env.pop("TF_CONFIG", None)
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    calls = json.loads(out.read_text())
    names = [name for name, _, _ in calls]
    assert names[:3] == ["init", "start_run", "log_params"]
    assert names[-2:] == ["log_metrics", "end_run"]
    assert calls[0][2] == {"experiment": "test-experiment"}
    assert calls[1][1] == ["test-run"]
    params = calls[2][1][0]
    assert "experiment" not in params and params["model_dir"] == str(tmp_path / "model")
    written = json.loads((tmp_path / "metrics.json").read_text())
    metric = written["metric"]["id"]
    final = calls[-2][1][0]
    assert metric in final
    steps = [kwargs["step"] for name, _, kwargs in calls if name == "log_time_series_metrics"]
    assert steps and steps == sorted(set(steps)) and steps[0] == 1
