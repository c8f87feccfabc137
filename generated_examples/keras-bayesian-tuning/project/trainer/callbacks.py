"""Callbacks of the training loop: checkpoints every epoch (and resuming from them),
TensorBoard curves and the hypertune metric.

Checkpoints are tf.train checkpoints of the model, the optimizer and the epoch counter, written
by tf.train.CheckpointManager: the data files first, then the small `checkpoint` index file,
replaced atomically. A job killed mid-save (a preempted Spot VM) restarts from the previous
complete checkpoint.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
from typing import Any

import keras
import tensorflow as tf

log = logging.getLogger(__name__)


class Checkpoints:
    """Saving and restoring the training state under `directory`.

    Under MultiWorkerMirroredStrategy every worker must take part in each save (a save may
    involve collective ops), but only the chief's copy is kept: the others write to a
    temporary folder of their own and delete it right after."""

    def __init__(self, directory: str, is_chief: bool, model: keras.Model, optimizer: Any) -> None:
        self.directory = directory
        self.is_chief = is_chief
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        self.checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer, epoch=self.epoch)
        self.manager = tf.train.CheckpointManager(self.checkpoint, directory, max_to_keep=2)

    def restore(self) -> int:
        """Restore the newest checkpoint, if any; returns the epoch to start from."""
        latest = tf.train.latest_checkpoint(self.directory)
        if not latest:
            return 0
        try:
            self.checkpoint.restore(latest).assert_existing_objects_matched()
        except (AssertionError, ValueError, tf.errors.OpError) as exc:
            reason = str(exc).rstrip(".")
            print(
                f"error: {latest} does not fit this model (changed flags?): {reason}. "
                "Delete it or pass another --checkpoint_dir.",
                file=sys.stderr,
            )
            raise SystemExit(2) from None
        epoch = int(self.epoch.numpy())
        log.info("resuming from %s: epoch %d is done", latest, epoch)
        return epoch

    def save(self, epochs_done: int) -> None:
        self.epoch.assign(epochs_done)
        if self.is_chief:
            self.manager.save(checkpoint_number=epochs_done)
            return
        scratch = tempfile.mkdtemp(prefix="checkpoint-worker-")
        try:
            tf.train.CheckpointManager(self.checkpoint, scratch, max_to_keep=1).save(
                checkpoint_number=epochs_done
            )
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def clear(self) -> None:
        """After a complete run: remove this run's checkpoints (only the files it wrote), so
        the next run starts afresh instead of resuming a finished one."""
        if not self.is_chief:
            return
        for prefix in self.manager.checkpoints:
            for path in tf.io.gfile.glob(prefix + ".*"):
                tf.io.gfile.remove(path)
        index = os.path.join(self.directory, "checkpoint")
        if tf.io.gfile.exists(index):
            tf.io.gfile.remove(index)


class EpochCheckpoint(keras.callbacks.Callback):
    def __init__(self, checkpoints: Checkpoints) -> None:
        super().__init__()
        self.checkpoints = checkpoints

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        self.checkpoints.save(epoch + 1)


class TensorBoardLogger(keras.callbacks.Callback):
    """Epoch curves in TensorBoard's layout (`train/` and `validation/` runs, `epoch_*` tags),
    which Vertex AI TensorBoard uploads from AIP_TENSORBOARD_LOG_DIR."""

    def __init__(self, log_dir: str, learning_rate: float) -> None:
        super().__init__()
        self.learning_rate = learning_rate
        self.writers = {
            "train": tf.summary.create_file_writer(os.path.join(log_dir, "train")),
            "validation": tf.summary.create_file_writer(os.path.join(log_dir, "validation")),
        }

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        for key, value in (logs or {}).items():
            run, name = ("validation", key[4:]) if key.startswith("val_") else ("train", key)
            with self.writers[run].as_default():
                tf.summary.scalar(f"epoch_{name}", value, step=epoch + 1)
        with self.writers["train"].as_default():
            tf.summary.scalar("epoch_learning_rate", self.learning_rate, step=epoch + 1)
        for writer in self.writers.values():
            writer.flush()

    def on_train_end(self, logs: dict[str, float] | None = None) -> None:
        for writer in self.writers.values():
            writer.close()


class HypertuneReporter(keras.callbacks.Callback):
    """Reports the validation metric to Vertex AI Vizier after every epoch (with the epoch as
    global_step), so automated early stopping can judge a trial before it ends."""

    def __init__(self, metric_id: str) -> None:
        super().__init__()
        import hypertune

        self.metric_id = metric_id
        self.hpt = hypertune.HyperTune()

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        self.hpt.report_hyperparameter_tuning_metric(
            hyperparameter_metric_tag=self.metric_id,
            metric_value=float((logs or {})[f"val_{self.metric_id}"]),
            global_step=epoch + 1,
        )
