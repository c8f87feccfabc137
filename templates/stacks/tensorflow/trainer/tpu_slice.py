"""The hosts of a TPU slice, and this host's part in training on it.

A slice larger than one host (a v5e 4x4 is 4 hosts of 4 chips, a v3-32 4 hosts of 8 cores)
runs the same container on every host. TPUStrategy needs one program that reaches the chips of
every host over gRPC, as on Cloud TPU VM Pods:

- every host serves its own chips with a TensorFlow server on port 8470 (`serve`);
- host 0 also runs the training program, which connects to all of those servers
  (`TPUClusterResolver(tpu="grpc://host0:8470,grpc://host1:8470,...")`) and leaves its own
  chips to the server it started for them (TPU_LOAD_LIBRARY=0).

The hosts come from TPU_WORKER_HOSTNAMES and TPU_WORKER_ID where they are set (GKE sets them;
set them yourself to override), else from the TPU VM's metadata server (worker-network-endpoints
and agent-worker-number, which JAX's multi-host start-up reads too). With neither, the slice is
this host alone and TPUStrategy uses TPUClusterResolver(tpu="local").

No TensorFlow is imported at the top of this module: `start()` must run before TensorFlow loads
libtpu, or the training program would hold host 0's chips that its server needs.
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

PORT = 8470  # the TPU worker port of Cloud TPU
METADATA = "http://metadata.google.internal/computeMetadata/v1/instance/attributes/"
SERVER_START_SECONDS = 300.0
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Slice:
    """The slice's hosts (`name` or `name:port`, in worker order) and this host's index."""

    hosts: tuple[str, ...] = ()
    index: int = 0

    @property
    def multi_host(self) -> bool:
        return len(self.hosts) > 1

    def addresses(self) -> list[str]:
        """Each host's TPU server address, `host:port` (port 8470 unless the host names one)."""
        return [host if ":" in host else f"{host}:{PORT}" for host in self.hosts]

    def tpu(self) -> str:
        """The `tpu` argument of TPUClusterResolver that names every host's server."""
        return ",".join(f"grpc://{address}" for address in self.addresses())


def metadata(key: str, timeout: float = 2.0) -> str | None:
    """An attribute of this TPU VM from the metadata server; None off Google Cloud."""
    request = urllib.request.Request(METADATA + key, headers={"Metadata-Flavor": "Google"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.read().decode().strip() or None
    except (OSError, ValueError, urllib.error.URLError):
        return None


def on_tpu_vm() -> bool:
    """TPU chips appear as /dev/accel* (v2-v4) or VFIO devices (v5e and later)."""
    return any(Path("/dev").glob("accel*")) or Path("/dev/vfio").is_dir()


def detect(
    environ: Mapping[str, str] | None = None,
    read: Callable[[str], str | None] = metadata,
    tpu_vm: Callable[[], bool] = on_tpu_vm,
) -> Slice:
    """The slice this process runs on (see the module docstring for where it is read)."""
    env = os.environ if environ is None else environ
    names = env.get("TPU_WORKER_HOSTNAMES", "").strip()
    if names:
        hosts = [name.strip() for name in names.split(",") if name.strip()]
        index_text = env.get("TPU_WORKER_ID", "0")
        where = "TPU_WORKER_HOSTNAMES and TPU_WORKER_ID"
    elif tpu_vm() and (endpoints := read("worker-network-endpoints")):
        # entries read `<id>:<name>:<ip address>`: the address is the last field
        hosts = [entry.split(":")[-1] for entry in endpoints.split(",") if entry.strip()]
        index_text = read("agent-worker-number") or "0"
        where = "the TPU VM metadata (worker-network-endpoints, agent-worker-number)"
    else:
        return Slice()
    try:
        index = int(index_text)
    except ValueError:
        raise SystemExit(f"{where}: the worker index {index_text!r} is not a number") from None
    if not 0 <= index < len(hosts):
        raise SystemExit(
            f"{where}: worker index {index} is outside the slice's {len(hosts)} hosts {hosts}"
        )
    return Slice(tuple(hosts), index)


def serve(slice_: Slice) -> NoReturn:
    """Serve this host's chips to the training program on host 0, until the job ends (Vertex AI
    ends every host's container when host 0's program finishes)."""
    import tensorflow as tf

    cluster = tf.train.ClusterSpec({"worker": slice_.addresses()})
    server = tf.distribute.Server(
        cluster, job_name="worker", task_index=slice_.index, protocol="grpc", start=True
    )
    log.info("TPU host %d of %d: serving its chips", slice_.index, len(slice_.hosts))
    server.join()
    raise SystemExit(0)


def wait_for(address: str, seconds: float = SERVER_START_SECONDS) -> None:
    """Block until something accepts connections at `host:port`."""
    host, port = address.rsplit(":", 1)
    deadline = time.monotonic() + seconds
    while True:
        try:
            with socket.create_connection((host, int(port)), timeout=2.0):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(
                    f"the TPU server of this host did not start at {address} within"
                    f" {seconds:.0f} s"
                ) from None
            time.sleep(0.5)


def start_local_server(slice_: Slice) -> subprocess.Popen[bytes]:
    """Host 0: serve its own chips from a child process, and keep TensorFlow in this process
    off them (TPU_LOAD_LIBRARY=0: the child, not the training program, loads libtpu)."""
    env = dict(os.environ)
    env.pop("TPU_LOAD_LIBRARY", None)
    env.update(TPU_WORKER_HOSTNAMES=",".join(slice_.hosts), TPU_WORKER_ID=str(slice_.index))
    child = subprocess.Popen([sys.executable, "-m", "trainer.tpu_slice", "serve"], env=env)
    # kill, not terminate: TensorFlow's preemption notifier catches SIGTERM and keeps serving
    atexit.register(child.kill)
    wait_for(slice_.addresses()[slice_.index])
    os.environ["TPU_LOAD_LIBRARY"] = "0"
    return child


def start() -> Slice:
    """Take this host's part: on a multi-host slice, host 0 starts the server of its own chips and
    returns to train; any other host serves its chips here and never returns."""
    slice_ = detect()
    if slice_.multi_host:
        if slice_.index > 0:
            serve(slice_)
        start_local_server(slice_)
        log.info("TPU slice of %d hosts: training from host 0", len(slice_.hosts))
    return slice_


def main(argv: list[str]) -> int:
    if argv != ["serve"]:
        print("usage: python -m trainer.tpu_slice serve", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    slice_ = detect()
    if not slice_.hosts:
        print("no TPU slice found: set TPU_WORKER_HOSTNAMES and TPU_WORKER_ID", file=sys.stderr)
        return 2
    serve(slice_)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
