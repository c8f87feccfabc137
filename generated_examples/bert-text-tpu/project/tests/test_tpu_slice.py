"""A multi-host TPU slice: which hosts it has, and host 0 reaching every host's server.

The gRPC part runs for real on this machine: two "hosts" are two local ports, each served by
`python -m trainer.tpu_slice serve` as on a slice (host 0's server started by the program on
host 0). Only the TPU chips are missing, so TPUStrategy itself cannot start here: the trainer
must then stop with the reason, not train on one CPU as if nothing happened.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data/reviews.csv"
sys.path.insert(0, str(ROOT))

from trainer import tpu_slice  # noqa: E402


def test_hosts_from_the_environment() -> None:
    found = tpu_slice.detect({"TPU_WORKER_HOSTNAMES": "t-0, t-1,t-2,t-3", "TPU_WORKER_ID": "2"})
    assert found == tpu_slice.Slice(("t-0", "t-1", "t-2", "t-3"), 2) and found.multi_host
    assert found.tpu() == "grpc://t-0:8470,grpc://t-1:8470,grpc://t-2:8470,grpc://t-3:8470"


def test_hosts_from_the_tpu_vm_metadata() -> None:
    attributes = {
        "worker-network-endpoints": "unknown:unknown:10.0.0.2,unknown:unknown:10.0.0.3",
        "agent-worker-number": "1",
    }
    found = tpu_slice.detect({}, read=attributes.get, tpu_vm=lambda: True)
    assert found == tpu_slice.Slice(("10.0.0.2", "10.0.0.3"), 1)
    assert found.addresses() == ["10.0.0.2:8470", "10.0.0.3:8470"]


def test_one_host_when_nothing_names_a_slice() -> None:
    assert not tpu_slice.detect({}, read=lambda key: None, tpu_vm=lambda: True).multi_host
    # off a TPU VM the metadata server is never asked
    asked: list[str] = []
    tpu_slice.detect({}, read=lambda key: asked.append(key), tpu_vm=lambda: False)
    assert asked == []


@pytest.mark.parametrize("index", ["2", "-1", "one"])
def test_a_worker_index_outside_the_slice_is_an_error(index: str) -> None:
    with pytest.raises(SystemExit, match="worker index"):
        tpu_slice.detect({"TPU_WORKER_HOSTNAMES": "a,b", "TPU_WORKER_ID": index})


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("localhost", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def slice_env(hosts: str, index: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CONFIG", "TPU_LOAD_LIBRARY")}
    return env | {"TPU_WORKER_HOSTNAMES": hosts, "TPU_WORKER_ID": str(index)}


@pytest.fixture(scope="module")
def hosts() -> Iterator[str]:
    """A two-host slice on local ports, with host 1 serving (its own process group)."""
    hosts = ",".join(f"localhost:{port}" for port in free_ports(2))
    server = subprocess.Popen(
        [sys.executable, "-m", "trainer.tpu_slice", "serve"],
        cwd=ROOT,
        env=slice_env(hosts, 1),
        start_new_session=True,
    )
    try:
        tpu_slice.wait_for(hosts.split(",")[1], seconds=120)
        yield hosts
    finally:
        # SIGKILL: TensorFlow's preemption notifier catches SIGTERM and keeps serving
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=60)


def run_on_host_0(hosts: str, command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=ROOT,
        env=slice_env(hosts, 0),
        capture_output=True,
        text=True,
        timeout=300,
        start_new_session=True,
    )


PROGRAM = """
import os
from trainer import tpu_slice
found = tpu_slice.start()  # starts host 0's server, keeps this process off its chips
assert os.environ["TPU_LOAD_LIBRARY"] == "0"
import tensorflow as tf
from trainer import distribute
distribute.connect_to_slice(found)
for task in range(len(found.hosts)):
    with tf.device(f"/job:worker/replica:0/task:{task}/device:CPU:0"):
        value = tf.constant(float(task)) * 10
    print("ran", value.numpy(), "on", value.device)
"""


def test_host_0_reaches_the_server_of_every_host(hosts: str) -> None:
    result = run_on_host_0(hosts, [sys.executable, "-c", PROGRAM])
    assert result.returncode == 0, result.stderr[-4000:]
    assert "ran 0.0 on /job:worker/replica:0/task:0/device:CPU:0" in result.stdout
    assert "ran 10.0 on /job:worker/replica:0/task:1/device:CPU:0" in result.stdout


def test_the_trainer_on_a_slice_without_tpus_stops_with_the_reason(
    hosts: str, tmp_path: Path
) -> None:
    if not SAMPLE.exists():
        subprocess.run([sys.executable, str(ROOT / "data" / "make_sample.py")], check=True)
    result = run_on_host_0(
        hosts,
        [
            sys.executable,
            "-m",
            "trainer.task",
            "--strategy=tpu_strategy",
            f"--data={SAMPLE}",
            "--epochs=1",
            f"--model_dir={tmp_path / 'model'}",
            f"--checkpoint_dir={tmp_path / 'checkpoints'}",
            f"--tensorboard_dir={tmp_path / 'logs'}",
        ],
    )
    assert result.returncode != 0
    assert "TPU slice's 2 hosts" in result.stderr and "did not start TPUStrategy" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "model").exists()  # no quiet one-CPU run
