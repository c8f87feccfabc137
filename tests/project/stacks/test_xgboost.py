"""The XGBoost stack: rendered for the targets the engine picks (CPU, one GPU), trained.

Each generated project runs as a user runs it (`python -m trainer.task` in a subprocess with this
venv's Python) on its sample data; the checks load model.bst here, predict, and recompute the
validation metric that metrics.json reports. The GPU target's `device="cuda"` cannot run here:
the test checks the rendered default and that XGBoost accepts the parameters (it falls back to
the CPU when no GPU is visible).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from tests.helpers.gen import import_generated, recommendation_for, render_to
from tests.helpers.targets import STACK_CASES

# The cases (tests/helpers/targets.py asserts the engine's picks), with the device each trains on.
ANSWERS: dict[str, dict[str, Any]] = {
    name: case.answers for name, case in STACK_CASES["xgboost"].items()
}
EXPECTED = {
    name: (
        case.expected["hardware"],
        case.expected["hp_search"],
        "cuda" if case.expected["hardware"] == "single_gpu" else "cpu",
    )
    for name, case in STACK_CASES["xgboost"].items()
}
FAST = ["--nthread=1"]  # small data trains fastest on one thread of a shared machine


def answers_for(name: str) -> dict[str, Any]:
    return {"project_name": f"xgb-{name.replace('_', '-')}"} | ANSWERS[name]


def clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("TF_CONFIG", "CLUSTER_SPEC") and not k.startswith(("AIP_", "CLOUD_ML_"))
    }
    return env | {"PYTHONDONTWRITEBYTECODE": "1"} | extra


def constant(root: Path, name: str) -> Any:
    text = (root / "trainer/task.py").read_text()
    match = re.search(rf"^{name} = (.+?)(?:  #.*)?$", text, re.M)
    assert match, name
    return eval(match.group(1), {})  # a literal the template wrote with the `py` filter


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Path]]:
    made: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in made:
            root = render_to(answers_for(name), tmp_path_factory.mktemp(name) / "project")
            subprocess.run(
                [sys.executable, "data/make_sample.py"], cwd=root, check=True, env=clean_env()
            )
            made[name] = root
        return made[name]

    yield get


def train(root: Path, out: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        "-m",
        "trainer.task",
        f"--model_dir={out / 'model'}",
        f"--checkpoint_dir={out / 'checkpoints'}",
        *FAST,
        *flags,
    ]
    env = clean_env(CLOUD_ML_HP_METRIC_FILE=str(out / "hypertune.jsonl"))
    result = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-5000:]
    return result


def load_data_module(root: Path) -> ModuleType:
    return import_generated(root / "trainer/data.py")


def check_booster(root: Path, out: Path) -> dict[str, Any]:
    """Load model.bst, predict the validation split and recompute the reported metric."""
    import xgboost as xgb

    metrics = json.loads((out / "metrics.json").read_text())
    booster = xgb.Booster()
    booster.load_model(bytearray((out / "model" / "model.bst").read_bytes()))
    assert booster.num_boosted_rounds() == metrics["rounds"]
    meta = json.loads((out / "model" / "preprocessing.json").read_text())
    data = load_data_module(root)
    _, _, x_val, y_val = data.load_arrays(str(root / "data/sample.csv"), meta["label"])
    assert x_val.shape[1] == len(meta["columns"])
    predicted = booster.predict(xgb.DMatrix(x_val))  # plain rows, as the prediction image sends
    assert np.isfinite(predicted).all()
    if "classes" in meta:
        labels = (predicted > 0.5).astype(int) if predicted.ndim == 1 else predicted.argmax(1)
        assert float(np.mean(labels == y_val)) == pytest.approx(metrics["validation"]["accuracy"])
    else:
        rmse = float(np.sqrt(np.mean((predicted - y_val) ** 2)))
        assert rmse == pytest.approx(metrics["validation"]["rmse"], rel=1e-5)
    assert metrics["metric"]["value"] == metrics["validation"][metrics["metric"]["id"]]
    return metrics


@pytest.mark.parametrize("name", list(ANSWERS))
def test_engine_picks_each_target_and_the_project_follows(name: str, tmp_path: Path) -> None:
    rec = recommendation_for(answers_for(name))
    hardware, search, device = EXPECTED[name]
    assert rec.decisions["framework"]["choice"] == "xgboost"
    assert rec.decisions["hardware"]["choice"] == hardware
    assert rec.decisions["hp_search"]["choice"] == search
    root = render_to(answers_for(name), tmp_path / "project")
    assert constant(root, "DEVICE") == device
    assert constant(root, "LOCAL_SEARCH") == search
    study = json.loads((root / "trainer/hyperparameters.json").read_text())
    tuned = answers_for(name).get("hyperparameters", 0)
    assert len(study["parameters"]) == tuned
    if search == "grid":
        assert all(p["type"] == "discrete" for p in study["parameters"])
    assert "## The trainer (XGBoost" in (root / "README.md").read_text()


@pytest.mark.slow
def test_grid_search_then_training_on_cpu(project: Callable[[str], Path], tmp_path: Path) -> None:
    root = project("cpu_grid")
    train(root, tmp_path, "--num_boost_round=60")
    metrics = check_booster(root, tmp_path)
    search = metrics["search"]
    assert search["kind"] == "grid" and len(search["candidates"]) == 9  # 3 x 3 grid values
    best = search["best"]["params"]
    assert {k: metrics["params"][k] for k in best} == best  # the final booster used the best
    assert metrics["device"] == "cpu" and 0 < metrics["rounds"] <= 60
    # Reported every 10 rounds and once for the saved booster (tuning is on).
    reports = (tmp_path / "hypertune.jsonl").read_text().splitlines()
    steps = [int(json.loads(line)["global_step"]) for line in reports]
    assert steps[:2] == [10, 20] and steps[-1] == metrics["trained_rounds"] >= metrics["rounds"]
    last = float(json.loads(reports[-1])[metrics["metric"]["id"]])
    assert last == pytest.approx(metrics["metric"]["value"])


@pytest.mark.slow
def test_gpu_target_trains_where_no_gpu_is_present(
    project: Callable[[str], Path], tmp_path: Path
) -> None:
    root = project("gpu_random")
    # auto: the recommended cuda only where a GPU is visible.
    auto = train(root, tmp_path / "auto", "--search=none", "--num_boost_round=40")
    assert check_booster(root, tmp_path / "auto")["device"] == "cpu"
    assert "training on cpu" in auto.stderr
    # Forced: XGBoost takes device=cuda with the hist method and falls back to the CPU.
    forced = train(
        root, tmp_path / "cuda", "--device=cuda", "--search=none", "--num_boost_round=40"
    )
    assert "training on cuda" in forced.stderr
    assert check_booster(root, tmp_path / "cuda")["device"] == "cuda"


@pytest.mark.slow
def test_random_search_with_explicit_flags_is_skipped(
    project: Callable[[str], Path], tmp_path: Path
) -> None:
    """A tuning trial passes the tuned flags: it trains that configuration, no local search."""
    root = project("gpu_random")
    train(root, tmp_path, "--learning_rate=0.2", "--max_depth=3.0", "--num_boost_round=30")
    metrics = check_booster(root, tmp_path)
    assert metrics["search"] == {"kind": "none"}
    assert metrics["params"]["max_depth"] == 3 and metrics["params"]["learning_rate"] == 0.2


@pytest.mark.slow
def test_killed_run_resumes_from_its_last_checkpoint(
    project: Callable[[str], Path], tmp_path: Path
) -> None:
    root = project("cpu_plain")
    rounds = 1500
    command = [
        sys.executable,
        "-m",
        "trainer.task",
        f"--model_dir={tmp_path / 'model'}",
        f"--checkpoint_dir={tmp_path / 'checkpoints'}",
        f"--num_boost_round={rounds}",
        "--early_stopping_rounds=0",
        "--learning_rate=0.01",
        "--checkpoint_interval=25",
        *FAST,
    ]
    first = subprocess.Popen(
        command, cwd=root, env=clean_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 300
    while not list((tmp_path / "checkpoints").glob("ckpt-*.ubj")):
        assert first.poll() is None, "the trainer ended before writing a checkpoint"
        assert time.monotonic() < deadline
        time.sleep(0.005)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=60)
    saved = sorted(int(p.stem.split("-")[1]) for p in (tmp_path / "checkpoints").glob("ckpt-*.ubj"))
    assert saved and 25 <= saved[-1] < rounds and saved[-1] % 25 == 0
    assert not (tmp_path / "metrics.json").exists()

    second = subprocess.run(command, cwd=root, env=clean_env(), capture_output=True, text=True)
    assert second.returncode == 0, second.stderr[-4000:]
    assert f"resuming from the checkpoint at round {saved[-1]}" in second.stderr
    metrics = check_booster(root, tmp_path)
    assert metrics["start_rounds"] == saved[-1] and metrics["rounds"] == rounds
    assert len(metrics["history"]["logloss"]) == rounds - saved[-1]  # only the rounds left
    assert not list((tmp_path / "checkpoints").glob("ckpt-*"))  # cleared after completion


@pytest.mark.slow
@pytest.mark.parametrize("name", ["cpu_grid", "cpu_plain"])
def test_generated_smoke_tests_pass(name: str, project: Callable[[str], Path]) -> None:
    root = project(name)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_smoke.py"],
        cwd=root,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    assert "4 passed" in result.stdout


def test_requirements_pin_the_versions_the_tests_ran(tmp_path: Path) -> None:
    from importlib.metadata import version

    root = render_to(answers_for("cpu_grid"), tmp_path / "project")
    pins = dict(
        line.split("==")
        for line in (root / "requirements.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    assert {"xgboost", "cloudml-hypertune", "gcsfs"} <= set(pins)
    for name, pinned in pins.items():
        assert version(name) == pinned, name


def test_bad_label_column_exits_2_naming_the_file_and_column(tmp_path: Path) -> None:
    root = render_to(answers_for("cpu_plain"), tmp_path / "project")
    subprocess.run([sys.executable, "data/make_sample.py"], cwd=root, check=True, env=clean_env())
    result = subprocess.run(
        [sys.executable, "-m", "trainer.task", "--label_column=nope", *FAST],
        cwd=root,
        env=clean_env(),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "sample.csv" in result.stderr and "'nope'" in result.stderr
    assert "Traceback" not in result.stderr
