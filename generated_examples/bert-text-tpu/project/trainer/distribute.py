"""The tf.distribute strategy (tpu_strategy for this project) and the replica's role.

On Vertex AI every replica gets TF_CONFIG (and CLUSTER_SPEC) from the service: worker pool 0 is
the `chief`, pool 1 the `worker`s, pool 2 the parameter servers (`ps`). Nothing here sets
TF_CONFIG; locally, with no TF_CONFIG, the same code runs as a one-machine cluster.

`setup()` must run before any other TensorFlow op: multi-worker strategies and TPU
initialization need a fresh runtime.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from dataclasses import dataclass
from typing import Any

import tensorflow as tf

from trainer.tpu_slice import Slice, on_tpu_vm

log = logging.getLogger(__name__)

KINDS = ("none", "mirrored", "multi_worker_mirrored", "tpu_strategy", "parameter_server")


@dataclass
class Cluster:
    """The strategy and what this process is in the cluster."""

    strategy: tf.distribute.Strategy
    kind: str  # the strategy that actually runs (tpu_strategy falls back to "none")
    device: str  # "cpu", "gpu" or "tpu": what the replicas compute on
    replicas: int  # synchronous replicas; for parameter servers the number of workers
    is_chief: bool
    task_type: str | None = None
    task_id: int = 0
    coordinator: Any = None  # tf.distribute.coordinator.ClusterCoordinator (parameter servers)


def tf_config() -> dict[str, Any]:
    try:
        config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    except ValueError:
        raise SystemExit("TF_CONFIG is not valid JSON") from None
    return config if isinstance(config, dict) else {}


def role(config: dict[str, Any]) -> tuple[str | None, int, bool]:
    """(task type, task index, is chief). The chief is the `chief` task, or worker 0 when the
    cluster has no chief, or the only process when there is no TF_CONFIG."""
    task = config.get("task") or {}
    task_type, task_id = task.get("type"), int(task.get("index", 0))
    cluster = config.get("cluster") or {}
    if task_type is None:
        return None, 0, True
    if task_type == "chief":
        return task_type, task_id, True
    return task_type, task_id, task_type == "worker" and task_id == 0 and "chief" not in cluster


def local_device() -> str:
    return "gpu" if tf.config.list_physical_devices("GPU") else "cpu"


def setup(
    kind: str,
    cpu_replicas: int = 1,
    ps_workers: int = 2,
    ps_servers: int = 1,
    tpu_hosts: Slice | None = None,
) -> Cluster:
    """Build the strategy for `kind`. A parameter-server worker or ps task serves here and
    never returns; `tpu_hosts` is the TPU slice `tpu_slice.start()` found."""
    if kind not in KINDS:
        raise SystemExit(f"unknown distribution strategy {kind!r}; one of {', '.join(KINDS)}")
    if kind == "parameter_server":
        return parameter_server(ps_workers, ps_servers)
    if kind == "multi_worker_mirrored":
        return multi_worker_mirrored()
    if kind == "tpu_strategy":
        return tpu(tpu_hosts)
    if kind == "mirrored":
        return mirrored(cpu_replicas)
    return one_device()


def one_device() -> Cluster:
    """The default strategy: the first GPU when there is one, else the CPU."""
    task_type, task_id, chief = role(tf_config())
    return Cluster(
        tf.distribute.get_strategy(), "none", local_device(), 1, chief, task_type, task_id
    )


def mirrored(cpu_replicas: int = 1) -> Cluster:
    """Synchronous data parallelism over every GPU of this machine (all-reduce with NCCL).
    With no GPU, `cpu_replicas` > 1 splits the CPU into that many logical devices, so the
    multi-replica code path (global batch, all-reduce) runs on a laptop."""
    devices = None
    if local_device() == "cpu" and cpu_replicas > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(cpu_replicas)]
        )
        devices = [d.name for d in tf.config.list_logical_devices("CPU")]
    strategy = tf.distribute.MirroredStrategy(devices)
    task_type, task_id, chief = role(tf_config())
    device = local_device()
    return Cluster(
        strategy, "mirrored", device, strategy.num_replicas_in_sync, chief, task_type, task_id
    )


def multi_worker_mirrored() -> Cluster:
    """Synchronous data parallelism over the GPUs of every machine in TF_CONFIG (collective
    all-reduce: NCCL between GPUs, gRPC rings between CPUs). Without TF_CONFIG it is a one-worker
    cluster on this machine."""
    config = tf_config()
    device = local_device()
    implementation = (
        tf.distribute.experimental.CommunicationImplementation.NCCL
        if device == "gpu"
        else tf.distribute.experimental.CommunicationImplementation.AUTO
    )
    strategy = tf.distribute.MultiWorkerMirroredStrategy(
        communication_options=tf.distribute.experimental.CommunicationOptions(
            implementation=implementation
        )
    )
    task_type, task_id, chief = role(config)
    return Cluster(
        strategy,
        "multi_worker_mirrored",
        device,
        strategy.num_replicas_in_sync,
        chief,
        task_type,
        task_id,
    )


def tpu(slice_: Slice | None = None) -> Cluster:
    """TPUStrategy over the TPU chips of this TPU VM (TPUClusterResolver with tpu="local"), or
    over every host of a multi-host slice (`trainer/tpu_slice.py` says how).
    When there is no TPU (a laptop, a CPU or GPU machine), the default strategy takes over; on
    a TPU VM or a slice, a TPU that does not start is an error, never a quiet one-device run."""
    if slice_ is not None and slice_.multi_host:
        return tpu_slice_strategy(slice_)
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu="local")
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        strategy = tf.distribute.TPUStrategy(resolver)
    except (ValueError, RuntimeError, tf.errors.OpError) as exc:
        reason = (str(exc).splitlines() or [type(exc).__name__])[0]
        if on_tpu_vm():  # chips are there but did not start: a one-CPU run would waste the TPU
            raise SystemExit(f"this TPU VM's TPU system did not start: {reason}") from None
        log.warning("no TPU found (%s): training with the default strategy instead", reason)
        return one_device()
    task_type, task_id, chief = role(tf_config())
    return Cluster(
        strategy, "tpu_strategy", "tpu", strategy.num_replicas_in_sync, chief, task_type, task_id
    )


def connect_to_slice(slice_: Slice) -> tf.distribute.cluster_resolver.TPUClusterResolver:
    """Connect this program to the TPU server of every host of the slice."""
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=slice_.tpu())
    tf.config.experimental_connect_to_cluster(resolver)
    return resolver


def tpu_slice_strategy(slice_: Slice) -> Cluster:
    """TPUStrategy over all the hosts of a multi-host slice, from host 0."""
    hosts = len(slice_.hosts)
    try:
        resolver = connect_to_slice(slice_)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        strategy = tf.distribute.TPUStrategy(resolver)
    except (ValueError, RuntimeError, tf.errors.OpError) as exc:
        reason = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise SystemExit(
            f"the TPU slice's {hosts} hosts ({', '.join(slice_.addresses())}) did not start"
            f" TPUStrategy: {reason}"
        ) from None
    log.info("TPUStrategy over %d hosts: %d replicas", hosts, strategy.num_replicas_in_sync)
    return Cluster(
        strategy, "tpu_strategy", "tpu", strategy.num_replicas_in_sync, True, "worker", 0
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("localhost", 0))
        return int(sock.getsockname()[1])


def in_process_cluster(
    workers: int, servers: int
) -> tf.distribute.cluster_resolver.ClusterResolver:
    """Worker and parameter-server tasks as in-process gRPC servers on localhost ports: the
    whole parameter-server setup on one machine, for local runs and tests."""
    spec = {
        "worker": [f"localhost:{free_port()}" for _ in range(workers)],
        "ps": [f"localhost:{free_port()}" for _ in range(servers)],
    }
    cluster_spec = tf.train.ClusterSpec(spec)
    # Each in-process worker needs threads of its own, or scheduled steps wait on each other.
    config = tf.compat.v1.ConfigProto()
    config.inter_op_parallelism_threads = workers + 1
    for i in range(workers):
        tf.distribute.Server(
            cluster_spec, job_name="worker", task_index=i, protocol="grpc", config=config
        )
    for i in range(servers):
        tf.distribute.Server(cluster_spec, job_name="ps", task_index=i, protocol="grpc")
    return tf.distribute.cluster_resolver.SimpleClusterResolver(cluster_spec, rpc_layer="grpc")


def parameter_server(local_workers: int, local_servers: int) -> Cluster:
    """Asynchronous training: the chief coordinates, workers compute steps, parameter servers
    hold the variables. With TF_CONFIG (Vertex AI), `worker` and `ps` tasks start their
    server and wait for the chief, and an `evaluator` task exits (the chief evaluates);
    without it, an in-process cluster of `local_workers` workers and `local_servers`
    parameter servers runs on this machine."""
    config = tf_config()
    task_type, task_id, _ = role(config)
    if config.get("cluster"):
        resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
        if task_type in ("worker", "ps"):
            log.info("%s %d: serving the chief's steps", task_type, task_id)
            server = tf.distribute.Server(
                resolver.cluster_spec(),
                job_name=task_type,
                task_index=task_id,
                protocol=resolver.rpc_layer or "grpc",
                start=True,
            )
            server.join()  # until Vertex AI ends the job when the chief finishes
            raise SystemExit(0)
        if task_type == "evaluator":
            log.info("evaluator: the chief evaluates after every epoch; nothing to do here")
            raise SystemExit(0)
        workers = len(config["cluster"].get("worker", []))
    else:
        resolver = in_process_cluster(local_workers, local_servers)
        workers = local_workers
    # Keras 3 cannot train sharded variables, so each variable lives whole on one parameter
    # server (round-robin); the largest embedding table must fit one server's memory.
    strategy = tf.distribute.ParameterServerStrategy(resolver)
    coordinator = tf.distribute.coordinator.ClusterCoordinator(strategy)
    return Cluster(
        strategy,
        "parameter_server",
        local_device(),
        max(workers, 1),
        True,
        task_type,
        task_id,
        coordinator,
    )


def resolve_precision(requested: str, recommended: str, cluster: Cluster) -> str:
    """`auto` applies the recommended mixed precision where its hardware is present:
    mixed_float16 on GPUs, mixed_bfloat16 on TPUs; float32 anywhere else."""
    if requested != "auto":
        return requested
    wanted = {"mixed_float16": "gpu", "mixed_bfloat16": "tpu"}.get(recommended)
    return recommended if wanted == cluster.device else "float32"
