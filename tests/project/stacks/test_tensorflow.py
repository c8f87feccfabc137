"""The TensorFlow (Keras 3) stack: rendered for every target the engine picks, and trained.

Each generated project runs as a user runs it (`python -m trainer.task` in a subprocess with this
venv's Python), on tiny sample data for one or two epochs. The checks then load what it wrote
(model.keras and the SavedModel) in this process and recompute the validation metric from the
saved model's own predictions. GPU and TPU code paths run here through the strategy objects that
work on a CPU: MirroredStrategy over two logical CPU replicas (with mixed_float16),
MultiWorkerMirroredStrategy over two local processes, TPUStrategy falling back to the default
strategy (with mixed_bfloat16), and ParameterServerStrategy over an in-process cluster.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from tests.helpers.gen import import_generated, recommendation_for, render_to, trainer_run
from tests.helpers.targets import STACK_CASES

# GPUs train in mixed float16, TPUs in mixed bfloat16, CPUs in float32.
PRECISION = {
    name: {"cpu": "float32", "tpu": "mixed_bfloat16"}.get(
        case.expected["hardware"], "mixed_float16"
    )
    for name, case in STACK_CASES["tensorflow"].items()
}

# Answers that make the engine pick each target (the table asserts the pick), with the precision
# the trainer must then use.
ANSWERS: dict[str, dict[str, Any]] = {
    name: case.answers for name, case in STACK_CASES["tensorflow"].items()
}
EXPECTED_TARGETS = {
    name: (case.expected["hardware"], case.expected["distribution"], PRECISION[name])
    for name, case in STACK_CASES["tensorflow"].items()
}
SAMPLES = {
    "tabular_classification": "data/sample.csv",
    "tabular_regression": "data/sample.csv",
    "time_series": "data/sample.csv",
    "image": "data/images.parquet",
    "text": "data/reviews.csv",
}
TRAINER_MODULES = ("task", "data", "model", "distribute", "loop", "callbacks", "artifacts")


def answers_for(name: str) -> dict[str, Any]:
    return {"project_name": f"tf-{name.replace('_', '-')}"} | ANSWERS[name]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a local run: no cluster or Vertex AI variables leak in."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("TF_CONFIG", "CLUSTER_SPEC") and not k.startswith(("AIP_", "CLOUD_ML_"))
    }
    return env | {"TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONDONTWRITEBYTECODE": "1"} | extra


def constant(project: Path, name: str) -> Any:
    """A module-level constant of the generated trainer/task.py (read, not imported)."""
    match = re.search(
        rf"^{name} = (.+?)(?:  #.*)?$", (project / "trainer/task.py").read_text(), re.M
    )
    assert match, name
    return eval(match.group(1), {})  # a literal the template wrote with the `py` filter


def family(project: Path) -> str:
    return str(constant(project, "FAMILY"))


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Path]]:
    """Render (once per module) the project for an entry of ANSWERS, with its sample data."""
    made: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in made:
            root = render_to(answers_for(name), tmp_path_factory.mktemp(name) / "project")
            if (root / "data/make_sample.py").exists():
                subprocess.run(
                    [sys.executable, "data/make_sample.py"], cwd=root, check=True, env=clean_env()
                )
            made[name] = root
        return made[name]

    yield get


def train(
    root: Path, out: Path, *flags: str, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        trainer_run(out, *flags),
        cwd=root,
        env=env or clean_env(CLOUD_ML_HP_METRIC_FILE=str(out / "hypertune.jsonl")),
        capture_output=True,
        text=True,
        timeout=600,
    )
    if check:
        assert result.returncode == 0, result.stderr[-5000:]
    return result


def load_data_module(root: Path) -> ModuleType:
    """The generated trainer/data.py under a name of its own (every project has a `trainer`)."""
    return import_generated(root / "trainer/data.py")


def check_saved_model(root: Path, out: Path) -> dict[str, Any]:
    """Load model.keras and the SavedModel, predict, and recompute the validation metric that
    metrics.json reports from the saved model's predictions."""
    import keras
    import tensorflow as tf

    metrics = json.loads((out / "metrics.json").read_text())
    model_dir = out / "model"
    model = keras.models.load_model(model_dir / "model.keras")
    assert model.dtype_policy.name == "float32"  # the saved copy serves anywhere
    data = load_data_module(root)
    meta = json.loads((model_dir / "preprocessing.json").read_text())
    _, _, x_val, y_val = data.load_arrays(str(root / SAMPLES[family(root)]))
    assert len(x_val) == metrics["examples"]["validation"]
    predicted = model.predict(x_val, verbose=0)
    assert np.isfinite(predicted).all()
    exported = tf.saved_model.load(str(model_dir))
    if family(root) == "text":
        texts = data.read_table(str(root / SAMPLES["text"]))["text"].astype(str).to_numpy()[:5]
        served = exported.signatures["serving_default"](text=tf.constant(texts))["probabilities"]
        expected = model.predict(data.make_vectorizer(meta)(texts), verbose=0)
        np.testing.assert_allclose(served.numpy(), expected, rtol=1e-4, atol=1e-5)
    else:
        served = np.asarray(exported.serve(tf.constant(x_val[:8], dtype=tf.float32)))
        np.testing.assert_allclose(served, predicted[:8], rtol=1e-4, atol=1e-4)
    if "classes" in meta:
        assert predicted.shape == (len(x_val), len(meta["classes"]))
        np.testing.assert_allclose(predicted.sum(axis=1), 1.0, rtol=1e-4)
        accuracy = float(np.mean(predicted.argmax(axis=1) == y_val))
        assert accuracy == pytest.approx(metrics["validation"]["accuracy"], abs=1e-6)
    else:
        rmse = float(np.sqrt(np.mean((predicted.reshape(-1) - y_val) ** 2)))
        assert rmse == pytest.approx(metrics["validation"]["rmse"], rel=1e-3)
    assert metrics["metric"]["value"] == metrics["validation"][metrics["metric"]["id"]]
    return metrics


# ---- rendering (fast) ------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(ANSWERS))
def test_engine_picks_each_target_and_the_project_says_so(name: str, tmp_path: Path) -> None:
    rec = recommendation_for(answers_for(name))
    hardware, distribution, precision = EXPECTED_TARGETS[name]
    assert rec.decisions["framework"]["choice"] == "tensorflow"
    assert rec.decisions["hardware"]["choice"] == hardware
    assert rec.decisions["distribution"]["choice"] == distribution
    root = render_to(answers_for(name), tmp_path / "project")
    for module in TRAINER_MODULES:
        assert (root / "trainer" / f"{module}.py").is_file(), module
    assert constant(root, "DISTRIBUTION") == distribution
    assert constant(root, "PRECISION") == precision
    assert constant(root, "TUNING") == (
        rec.decisions["hp_search"]["choice"] not in ("none", "not_applicable")
    )
    study = json.loads((root / "trainer/hyperparameters.json").read_text())
    assert study["metric"]["goal"] in ("maximize", "minimize")
    readme = (root / "README.md").read_text()
    assert "## The trainer" in readme and "### How it trains" in readme
    sample = SAMPLES[family(root)]
    assert (root / sample).exists() or sample in (root / "Makefile").read_text()
    assert (root / "scripts/local_cluster.py").exists() == (distribution == "multi_worker_mirrored")
    assert constant(root, "TASK") == ANSWERS[name]["task"]


def test_parser_accepts_every_tuned_parameter(tmp_path: Path) -> None:
    """build_parser() (which submit.py uses to check a job's args) takes each parameter of
    hyperparameters.json, discrete values passed as floats included."""
    root = render_to(answers_for("gpu_image"), tmp_path / "project")
    study = json.loads((root / "trainer/hyperparameters.json").read_text())
    assert [p["id"] for p in study["parameters"]] == ["learning_rate", "batch_size", "filters"]
    assert all(p["type"] == "discrete" for p in study["parameters"])
    script = (
        "import json, sys\n"
        "from trainer.task import build_parser\n"
        "study = json.load(open('trainer/hyperparameters.json'))\n"
        "args = [f\"--{p['id']}={float(p['values'][-1])}\" for p in study['parameters']]\n"
        "parsed = vars(build_parser().parse_args(args))\n"
        "print(json.dumps({p['id']: parsed[p['id']] for p in study['parameters']}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=root, capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == {"learning_rate": 0.01, "batch_size": 256, "filters": 64}
    bad = subprocess.run(
        [sys.executable, "-m", "trainer.task", "--batch_size=32.5"],
        cwd=root,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "not a whole number" in bad.stderr


# ---- training: every task on one device --------------------------------------------------


# Tabular classification and text classification train on one device in the resume and TPU
# fallback tests below (and in their projects' own smoke tests).
@pytest.mark.slow
@pytest.mark.parametrize("name", ["gpu_regression", "gpu_time_series", "gpu_image"])
def test_one_device_trains_every_task(
    name: str, project: Callable[[str], Path], tmp_path: Path
) -> None:
    root = project(name)
    train(root, tmp_path, "--epochs=2")
    metrics = check_saved_model(root, tmp_path)
    assert metrics["strategy"] == "none" and metrics["replicas"] == 1
    assert metrics["precision"] == "float32"  # mixed_float16 is only applied on a GPU
    assert metrics["epochs_run"] == 2 and len(metrics["history"]["loss"]) == 2
    assert metrics["examples_per_second"] > 0 and metrics["time_to_first_step_seconds"] > 0
    events = list((tmp_path / "logs" / "validation").glob("events.out.tfevents.*"))
    assert events, "no TensorBoard events"
    assert not (tmp_path / "checkpoints" / "checkpoint").exists()  # a complete run clears them


@pytest.mark.slow
@pytest.mark.parametrize("name", ["cpu_tabular", "gpu_text", "multi_worker", "tpu"])
def test_generated_smoke_tests_pass(name: str, project: Callable[[str], Path]) -> None:
    """The project's own tests (as `make test` runs them), in the project."""
    project_tests(project(name), "tests/test_smoke.py", r"\b(4|5) passed\b")


def project_tests(root: Path, tests: str, passed: str) -> None:
    """Run a test file of the generated project in the project; `passed` matches its summary."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", tests],
        cwd=root,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    assert re.search(passed, result.stdout), result.stdout[-2000:]


# ---- training: the distributed targets on a CPU ------------------------------------------


@pytest.mark.slow
def test_mirrored_over_two_cpu_replicas_in_mixed_float16(
    project: Callable[[str], Path], tmp_path: Path
) -> None:
    root = project("mirrored")
    train(root, tmp_path, "--epochs=2", "--cpu_replicas=2", "--precision=mixed_float16")
    metrics = check_saved_model(root, tmp_path)
    assert metrics["strategy"] == "mirrored" and metrics["replicas"] == 2
    assert metrics["precision"] == "mixed_float16"
    assert metrics["global_batch_size"] == 2 * 64  # per-replica batch x replicas
    assert metrics["learning_rate"] == pytest.approx(2 * 0.001)  # scaled with the replicas


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("localhost", 0))
    ports = [int(sock.getsockname()[1]) for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


@pytest.mark.slow
def test_multi_worker_mirrored_two_processes_one_model(
    project: Callable[[str], Path], tmp_path: Path
) -> None:
    """A chief and a worker, each with the TF_CONFIG Vertex AI would give it (on localhost) and
    its own AIP_MODEL_DIR: both finish, only the chief's model folder exists."""
    root = project("multi_worker")
    hosts = [f"localhost:{port}" for port in free_ports(2)]
    cluster = {"chief": hosts[:1], "worker": hosts[1:]}
    processes = {}
    for role in ("chief", "worker"):
        scratch = tmp_path / f"{role}-tmp"
        scratch.mkdir()
        env = clean_env(
            TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": role, "index": 0}}),
            AIP_MODEL_DIR=str(tmp_path / role / "model"),
            AIP_CHECKPOINT_DIR=str(tmp_path / "checkpoints"),
            AIP_TENSORBOARD_LOG_DIR=str(tmp_path / "logs"),
            TMPDIR=str(scratch),
        )
        processes[role] = subprocess.Popen(
            [sys.executable, "-m", "trainer.task", "--epochs=2"],
            cwd=root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    logs = {role: p.communicate(timeout=600)[1] for role, p in processes.items()}
    for role, process in processes.items():
        assert process.returncode == 0, f"{role}:\n{logs[role][-4000:]}"
    assert "model written to" in logs["chief"]
    assert "the chief writes the model" in logs["worker"]
    assert not (tmp_path / "worker").exists()  # the worker wrote no model and no metrics
    assert not list((tmp_path / "worker-tmp").iterdir())  # its checkpoint copies are gone
    metrics = check_saved_model(root, tmp_path / "chief")
    assert metrics["strategy"] == "multi_worker_mirrored" and metrics["replicas"] == 2
    assert metrics["global_batch_size"] == 2 * 64


@pytest.mark.slow
def test_tpu_strategy_falls_back_to_the_default_strategy(
    project: Callable[[str], Path], tmp_path: Path
) -> None:
    root = project("tpu")
    result = train(
        root, tmp_path, "--epochs=2", "--precision=mixed_bfloat16", "--model_parameters=60000"
    )
    assert "no TPU found" in result.stderr
    metrics = check_saved_model(root, tmp_path)
    assert metrics["requested_strategy"] == "tpu_strategy" and metrics["strategy"] == "none"
    assert metrics["precision"] == "mixed_bfloat16"  # the TPU precision, run on the CPU


def test_the_transformer_has_the_answered_size(project: Callable[[str], Path]) -> None:
    """BERT-large's 340M parameters (the tpu case) build a Keras encoder within 20% of that size,
    and the same code builds small for the tests and local runs (audit C7)."""
    root = project("tpu")
    script = (
        "import json, sys; from trainer import model;"
        " meta = {'vocabulary': ['w'] * 9998, 'sequence_length': 64, 'classes': [0, 1]};"
        " hp = {'embedding_dim': 64, 'dropout': 0.1, 'num_blocks': 0, 'num_heads': 0};"
        " sizes = [int(p) for p in sys.argv[1:]];"
        " built = [model.build_model(meta, hp | {'model_parameters': p}) for p in sizes];"
        " print(json.dumps([[n.count_params(), model.transformer_size(meta, hp |"
        " {'model_parameters': p})] for n, p in zip(built, sizes)]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, "340000000", "60000"],
        cwd=root,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (large, large_size), (small, small_size) = json.loads(result.stdout.splitlines()[-1])
    assert abs(large - 340_000_000) <= 0.2 * 340_000_000, (large, large_size)
    assert large_size["num_blocks"] >= 12 and large_size["embedding_dim"] % 64 == 0
    assert large_size["embedding_dim"] == large_size["num_heads"] * 64
    assert small < 200_000 and small_size["num_blocks"] >= 1
    task_py = (root / "trainer" / "task.py").read_text()
    assert "default=340000000" in task_py  # the Vertex job builds the answered size
    assert "TRAIN_ARGS ?= --model_parameters=5000000" in (root / "Makefile").read_text()
    assert "No single device holds" not in (root / "README.md").read_text()


def test_a_transformer_no_device_holds_sends_the_reader_to_a_stack_that_shards(
    tmp_path: Path,
) -> None:
    # Keras 3 on TensorFlow has no model parallelism: the README says so and names the stacks
    answers = answers_for("tpu") | {"model_parameters": 2_000_000_000}
    readme = (render_to(answers, tmp_path / "project") / "README.md").read_text()
    assert "**No single device holds this model's training state**" in readme
    assert "Keras distribution API" in readme and "--set\nframework=pytorch" in readme


@pytest.mark.slow
def test_a_multi_host_tpu_slice_is_served_by_every_host_and_trained_from_host_0(
    project: Callable[[str], Path],
) -> None:
    """The project's own slice tests: two local ports as two hosts, each served by
    trainer/tpu_slice.py; host 0's program reaches both and, with no TPU chips, stops with the
    reason rather than training on one CPU (audit A10)."""
    project_tests(project("tpu"), "tests/test_tpu_slice.py", r"\b8 passed\b")
    # only the projects that train on TPUs carry the slice test
    assert not (project("cpu_tabular") / "tests" / "test_tpu_slice.py").exists()


@pytest.mark.slow
def test_parameter_server_strategy_on_an_in_process_cluster(
    project: Callable[[str], Path], tmp_path: Path
) -> None:
    root = project("parameter_server")
    result = train(root, tmp_path, "--epochs=2", "--ps_workers=2", "--ps_servers=2")
    assert "strategy parameter_server" in result.stderr
    metrics = check_saved_model(root, tmp_path)
    assert metrics["strategy"] == "parameter_server" and metrics["replicas"] == 2
    assert metrics["epochs_run"] == 2


# ---- checkpoints -------------------------------------------------------------------------


@pytest.mark.slow
def test_killed_run_resumes_from_its_last_checkpoint(
    project: Callable[[str], Path], tmp_path: Path
) -> None:
    """Kill the trainer as soon as its first checkpoint exists, start it again: it restores
    the newest checkpoint and trains only the remaining epochs."""
    root = project("cpu_tabular")
    epochs = 40
    flags = [
        f"--model_dir={tmp_path / 'model'}",
        f"--checkpoint_dir={tmp_path / 'checkpoints'}",
        f"--tensorboard_dir={tmp_path / 'logs'}",
        f"--epochs={epochs}",
        "--patience=0",
    ]
    env = clean_env(CLOUD_ML_HP_METRIC_FILE=str(tmp_path / "hypertune.jsonl"))
    first = subprocess.Popen(
        [sys.executable, "-m", "trainer.task", *flags],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    index = tmp_path / "checkpoints" / "checkpoint"
    deadline = time.monotonic() + 300
    while not index.exists():
        assert first.poll() is None, "the trainer ended before writing a checkpoint"
        assert time.monotonic() < deadline, "no checkpoint after 300 s"
        time.sleep(0.02)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=60)
    state = index.read_text()
    done = int(re.search(r'^model_checkpoint_path: "ckpt-(\d+)"', state, re.M).group(1))
    assert 1 <= done < epochs
    assert not (tmp_path / "metrics.json").exists()

    second = subprocess.run(
        [sys.executable, "-m", "trainer.task", *flags],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert second.returncode == 0, second.stderr[-4000:]
    assert f"epoch {done} is done" in second.stderr
    assert f"epoch {done + 1}/{epochs}" in second.stderr
    assert f"epoch {done}/{epochs}" not in second.stderr
    metrics = check_saved_model(root, tmp_path)
    assert metrics["strategy"] == "none" and metrics["initial_epoch"] == done
    assert metrics["epochs_run"] == epochs - done
    # The restarted run reported the metric after each of its epochs, numbered by epoch.
    reports = (tmp_path / "hypertune.jsonl").read_text().splitlines()
    steps = [int(json.loads(line)["global_step"]) for line in reports]
    assert steps[-(epochs - done) :] == list(range(done + 1, epochs + 1))


@pytest.mark.slow
def test_pretrained_weights_are_the_model_before_the_first_step(
    project: Callable[[str], Path], tmp_path: Path
) -> None:
    """A .weights.h5 file made here loads into the model before the first step (no epoch runs,
    so the saved model.keras is that model); into a model of another size it is refused, with a
    message that names the file."""
    import keras

    root = project("cpu_tabular")
    task = import_generated(root / "trainer/task.py")
    model_lib = import_generated(root / "trainer/model.py")
    args = task.build_parser().parse_args([f"--data={root / SAMPLES['tabular_classification']}"])
    meta = task.data.prepare(args.data, **task.data_options(args)).meta
    start = model_lib.build_model(meta, vars(args))
    start.set_weights([w + 0.25 for w in start.get_weights()])  # unlike any fresh start
    path = tmp_path / "start.weights.h5"
    start.save_weights(path)

    done = train(root, tmp_path, "--epochs=0", f"--pretrained={path}")
    assert f"loaded the weights of {path}" in done.stderr
    saved = keras.models.load_model(tmp_path / "model" / "model.keras")
    assert len(saved.get_weights()) == len(start.get_weights())
    assert all(
        np.array_equal(a, b) for a, b in zip(saved.get_weights(), start.get_weights(), strict=True)
    )

    smaller = model_lib.build_model(meta, {**vars(args), "hidden_units": 8})
    with pytest.raises(task.data.DataError, match=f"^--pretrained {path} does not fit the model"):
        task.load_pretrained(smaller, str(path))


# ---- pins --------------------------------------------------------------------------------


def test_requirements_pin_the_versions_the_tests_ran(tmp_path: Path) -> None:
    from importlib.metadata import version

    root = render_to(answers_for("recommendation"), tmp_path / "project")  # with compression
    pins = dict(
        line.split("==")
        for line in (root / "requirements.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    assert {"tensorflow-cpu", "keras", "tf-keras", "tensorflow-model-optimization"} <= set(pins)
    for name, pinned in pins.items():
        assert version(name) == pinned, name


def test_the_tpu_image_puts_the_libtpu_of_its_tensorflow_version_in_lib() -> None:
    # Vertex AI (training-with-tpu-vm): a TPU build of TensorFlow plus the libtpu.so that Cloud
    # TPU pairs with it (runtimes page: TF 2.18.0 <-> libtpu 1.12.0), saved as /lib/libtpu.so
    import yaml

    from advisor.project.generate import build_project
    from tests.conftest import REPO

    answers = yaml.safe_load((REPO / "examples" / "bert-text-tpu.yml").read_text())
    dockerfile = build_project(answers, "bert-text-tpu").files["Dockerfile"]
    assert "tensorflow-tpu==2.18.0" in dockerfile
    assert "libtpu/1.12.0/libtpu.so', '/lib/libtpu.so'" in dockerfile
    assert "TF_PLUGGABLE_DEVICE_LIBRARY_PATH=/lib/libtpu.so" in dockerfile
