"""Train the model: `python -m trainer.task`.

The model: image classification (a small CNN).
Every flag has a default, so with none it trains on the sample data and writes to outputs/.
On Vertex AI the output folders come from AIP_MODEL_DIR, AIP_CHECKPOINT_DIR and
AIP_TENSORBOARD_LOG_DIR, the cluster from TF_CONFIG, and a tuning trial passes
`--<parameter id>=<value>` for each tuned hyperparameter (trainer/hyperparameters.json).

Target: one device (the default strategy: CPU, or the first GPU when there is one).
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import Any

from trainer import data, experiments, table

# ---- from the recommendation (README.md says why) -----------------------------------------
TASK = "image_classification"
FAMILY = "image"
DISTRIBUTION = "none"
PRECISION = "mixed_float16"  # applied where its hardware is present (--precision auto)
TUNING = False
METRIC = {"id": "accuracy", "goal": "maximize"}
# -------------------------------------------------------------------------------------------

STRATEGIES = ("none", "mirrored", "multi_worker_mirrored", "tpu_strategy", "parameter_server")
SYNC_MULTI_REPLICA = ("mirrored", "multi_worker_mirrored", "tpu_strategy")
log = logging.getLogger("trainer")


def integer(text: str) -> int:
    """An integer flag that also takes "32.0": Vertex AI passes discrete values as numbers."""
    value = float(text)
    if not value.is_integer():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number")
    return int(value)


def build_parser() -> argparse.ArgumentParser:
    """The trainer's flags; tuned hyperparameters are named exactly as their Vertex AI ids."""
    parser = argparse.ArgumentParser(
        prog="python -m trainer.task", description=__doc__.splitlines()[0]
    )
    io = parser.add_argument_group("data and outputs")
    io.add_argument(
        "--data",
        default=table.default_data(data.DEFAULT_DATA),
        help="CSV or Parquet file, folder or glob; local or gs://",
    )
    table.add_arguments(io, data.LABEL)
    experiments.add_arguments(io)
    io.add_argument("--model_dir", default=os.environ.get("AIP_MODEL_DIR") or "outputs/model")
    io.add_argument(
        "--checkpoint_dir", default=os.environ.get("AIP_CHECKPOINT_DIR") or "outputs/checkpoints"
    )
    io.add_argument(
        "--tensorboard_dir", default=os.environ.get("AIP_TENSORBOARD_LOG_DIR") or "outputs/logs"
    )
    io.add_argument("--metrics_path", default=None, help="default: metrics.json beside model_dir")
    io.add_argument(
        "--keep_checkpoints",
        action="store_true",
        help="keep the checkpoints after a complete run (by default they are removed, so the "
        "next run starts afresh; an interrupted run always resumes from them)",
    )
    io.add_argument("--image_size", type=int, default=64, help="images are resized to this square")

    hp = parser.add_argument_group("hyperparameters (tunable)")
    hp.add_argument(
        "--learning_rate",
        type=float,
        default=0.001,
        help="Adam learning rate, for the global batch (raise it with the replicas)",
    )
    hp.add_argument(
        "--batch_size",
        type=integer,
        default=64,
        help="examples per replica and step; the global batch is this times the replicas",
    )
    hp.add_argument(
        "--filters",
        type=integer,
        default=16,
        help="filters of the first convolution block (doubled in each next block)",
    )
    hp.add_argument("--dropout", type=float, default=0.2, help="dropout rate before the classifier")

    run = parser.add_argument_group("training")
    run.add_argument("--epochs", type=int, default=10)
    run.add_argument(
        "--patience",
        type=int,
        default=3,
        help="early stopping: epochs without a lower val_loss before stopping (0: never)",
    )
    run.add_argument("--seed", type=int, default=42)
    run.add_argument(
        "--pretrained",
        default=None,
        help="start from these weights: a .keras model or a .weights.h5 file, local or gs://",
    )
    run.add_argument(
        "--steps_per_execution",
        type=int,
        default=1,
        help="training steps per call into the compiled step function",
    )
    run.add_argument(
        "--precision",
        choices=["auto", "float32", "mixed_float16", "mixed_bfloat16"],
        default="auto",
        help=f"auto: {PRECISION} where its hardware is present, else float32",
    )
    run.add_argument(
        "--strategy",
        choices=STRATEGIES,
        default=DISTRIBUTION,
        help="tf.distribute strategy (default: %(default)s, the recommended one)",
    )
    run.add_argument(
        "--scale_learning_rate",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="multiply the learning rate by the number of synchronous replicas (the global batch "
        "grows with them)",
    )
    local = parser.add_argument_group("local runs without accelerators")
    local.add_argument(
        "--cpu_replicas",
        type=int,
        default=1,
        help="mirrored strategy with no GPU: split the CPU into this many replicas",
    )
    local.add_argument(
        "--ps_workers",
        type=int,
        default=2,
        help="parameter-server strategy with no TF_CONFIG: workers of the in-process cluster",
    )
    local.add_argument(
        "--ps_servers",
        type=int,
        default=1,
        help="parameter-server strategy with no TF_CONFIG: parameter servers of that cluster",
    )
    return parser


def data_options(args: argparse.Namespace) -> dict[str, Any]:
    """The data flags trainer.data.prepare takes besides the path."""
    return {"label": args.label_column, "image_size": args.image_size, "opts": table.options(args)}


def load_pretrained(net: Any, path: str) -> None:
    """Copy the weights of a .keras model or a .weights.h5 file into the built model (layer by
    layer, so this trainer's saved model.keras fits the model it trains); a file of another
    model (other sizes, columns or classes) is a data.DataError that names it."""
    import tensorflow as tf

    if not path.endswith((".keras", ".weights.h5")):
        raise data.DataError(f"--pretrained {path}: expected a .keras or .weights.h5 file")
    if not tf.io.gfile.exists(path):
        raise data.DataError(f"--pretrained {path}: no such file")
    with tempfile.TemporaryDirectory() as folder:
        local = path
        if "://" in path:  # Keras reads local files: a gs:// one is copied through tf.io.gfile
            local = os.path.join(folder, os.path.basename(path))
            tf.io.gfile.copy(path, local)
        try:
            net.load_weights(local)
        except ValueError as exc:
            reason = " ".join(str(exc).split())[:300]
            raise data.DataError(
                f"--pretrained {path} does not fit the model ({reason}). A model of another size,"
                " or of other columns or classes? Pass the flags it was trained with."
            ) from None
    log.info("loaded the weights of %s", path)


def fail(message: object) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    started = time.perf_counter()
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("absl", "tensorflow"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    try:
        data.source_files(args.data)  # a wrong path fails here, before TensorFlow starts
    except data.DataError as exc:
        return fail(exc)
    tpu_hosts = None
    if args.strategy == "tpu_strategy":
        from trainer import tpu_slice  # before TensorFlow loads libtpu

        # a host of a multi-host slice other than the first serves its chips here, for good
        tpu_hosts = tpu_slice.start()
    from trainer import distribute  # imports TensorFlow

    # First: multi-worker strategies and TPUs need the runtime before any other op runs.
    cluster = distribute.setup(
        args.strategy, args.cpu_replicas, args.ps_workers, args.ps_servers, tpu_hosts
    )
    try:
        return train(args, cluster, started)
    except data.DataError as exc:
        return fail(exc)
    except FloatingPointError as exc:
        print(f"error: {exc}; try a lower --learning_rate", file=sys.stderr)
        return 1


def train(args: argparse.Namespace, cluster: Any, started: float) -> int:
    import keras
    import numpy as np

    from trainer import artifacts, callbacks, distribute, loop
    from trainer import model as model_lib

    keras.utils.set_random_seed(args.seed)
    streaming = False
    split = data.prepare(args.data, **data_options(args))
    rows = {"train": len(split.x_train), "validation": len(split.x_val)}
    meta = split.meta
    precision = distribute.resolve_precision(args.precision, PRECISION, cluster)
    keras.mixed_precision.set_global_policy(precision)
    replicas = cluster.replicas
    asynchronous = cluster.coordinator is not None
    # Synchronous strategies split each global batch over the replicas; a parameter-server
    # worker takes one whole per-replica batch per step.
    global_batch = args.batch_size if asynchronous else args.batch_size * replicas
    scale_lr = args.scale_learning_rate and cluster.kind in SYNC_MULTI_REPLICA
    learning_rate = args.learning_rate * (replicas if scale_lr else 1)
    log.info(
        "strategy %s on %s: %d replica(s), global batch %d, learning rate %g, precision %s",
        cluster.kind,
        cluster.device,
        replicas,
        global_batch,
        learning_rate,
        precision,
    )

    # Regression targets are trained normalized; the saved model turns them back into units.
    target_scale = 1.0
    y_train = y_val = None
    if not streaming:
        y_train, y_val = split.y_train, split.y_val
    if not model_lib.CLASSIFICATION:
        target_scale = meta["target_std"]
    if not model_lib.CLASSIFICATION and not streaming:
        y_train = ((y_train - meta["target_mean"]) / target_scale).astype(np.float32)[:, None]
        y_val = ((y_val - meta["target_mean"]) / target_scale).astype(np.float32)[:, None]

    hp = vars(args)
    with cluster.strategy.scope():
        net = model_lib.build_model(meta, hp)
        optimizer = model_lib.make_optimizer(learning_rate, precision)
        optimizer.build(net.trainable_variables)
    if args.pretrained:  # a resumed run's own checkpoint, restored next, replaces these weights
        load_pretrained(net, args.pretrained)
    checkpoints = callbacks.Checkpoints(args.checkpoint_dir, cluster.is_chief, net, optimizer)
    initial_epoch = checkpoints.restore()

    trainer = loop.Trainer(
        cluster, net, optimizer, model_lib.make_loss(), args.steps_per_execution, target_scale
    )
    static_shapes = cluster.kind == "tpu_strategy"  # TPUs compile for one batch shape

    def part_dataset(part: str, batch: int, shuffle: bool, seed: int, **shard: Any) -> Any:
        """One part's tf.data pipeline ("train" or "validation"), sharded when asked."""
        x, y = (split.x_train, y_train) if part == "train" else (split.x_val, y_val)
        dataset = data.make_dataset(
            x, y, meta, batch, shuffle=shuffle, seed=seed, drop_remainder=static_shapes
        )
        if shard:
            return dataset.shard(shard["shards"], shard["shard"])
        return dataset

    val_ds = part_dataset("validation", global_batch, False, args.seed)
    if asynchronous:

        def worker_dataset(context: Any) -> Any:
            dataset = part_dataset(
                "train",
                args.batch_size,
                True,
                args.seed + context.input_pipeline_id,
                shard=context.input_pipeline_id,
                shards=context.num_input_pipelines,
            )
            return dataset.repeat()

        train_ds = trainer.per_worker_dataset(worker_dataset)
        steps_per_epoch = math.ceil(rows["train"] / args.batch_size)
    else:
        train_ds = part_dataset("train", global_batch, True, args.seed)
        steps_per_epoch = 0

    hooks: list[keras.callbacks.Callback] = []
    if args.patience > 0:
        hooks.append(
            keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=args.patience, restore_best_weights=True
            )
        )
    hooks.append(callbacks.EpochCheckpoint(checkpoints))
    if cluster.is_chief:
        hooks.append(callbacks.TensorBoardLogger(args.tensorboard_dir, learning_rate))
        if TUNING:
            hooks.append(callbacks.HypertuneReporter(METRIC["id"]))
    if initial_epoch >= args.epochs:
        log.info(
            "the checkpoint is at epoch %d of %d: nothing left to train", initial_epoch, args.epochs
        )
    run = experiments.start(args, enabled=cluster.is_chief)
    history = trainer.fit(
        train_ds, val_ds, args.epochs, initial_epoch, hooks, steps_per_epoch=steps_per_epoch
    )
    validation = trainer.evaluate(val_ds)
    run.history(history, first_step=initial_epoch + 1)
    run.finish(validation)

    if not cluster.is_chief:
        log.info("%s %d: done; the chief writes the model", cluster.task_type, cluster.task_id)
        return 0
    # The saved copy is built outside the strategy, in float32, with the trained weights.
    keras.mixed_precision.set_global_policy("float32")
    serving = model_lib.build_model(meta, hp, serving=True)
    serving.set_weights(net.get_weights())
    artifacts.save_model(serving, args.model_dir, meta)
    seconds = time.perf_counter() - started
    rates = history.get("examples_per_second", [])
    result = {
        "task": TASK,
        "family": FAMILY,
        "strategy": cluster.kind,
        "requested_strategy": args.strategy,
        "device": cluster.device,
        "replicas": replicas,
        "precision": precision,
        "global_batch_size": global_batch,
        "learning_rate": learning_rate,
        "epochs": args.epochs,
        "initial_epoch": initial_epoch,
        "epochs_run": len(history.get("loss", [])),
        "metric": {**METRIC, "value": validation[METRIC["id"]]},
        "validation": validation,
        "history": history,
        "examples": {"train": int(rows["train"]), "validation": int(rows["validation"])},
        "streaming": streaming,
        "examples_per_second": float(np.median(rates)) if rates else 0.0,
        "time_to_first_step_seconds": (
            trainer.first_step_seconds - started if trainer.first_step_seconds else None
        ),
        "seconds": seconds,
    }
    metrics_path = args.metrics_path or artifacts.join(
        artifacts.parent(args.model_dir), "metrics.json"
    )
    artifacts.write_json(metrics_path, result)
    if not args.keep_checkpoints:
        checkpoints.clear()
    log.info(
        "model written to %s; validation %s; %.1f s",
        args.model_dir,
        "  ".join(f"{k}={v:.4g}" for k, v in validation.items()),
        seconds,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
