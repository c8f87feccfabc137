"""The training loop, one for every strategy.

Synchronous strategies (the default one, Mirrored, MultiWorkerMirrored, TPU) run
`strategy.run` on each replica's share of a global batch inside a `tf.function`, a few steps per
call (`steps_per_execution`). ParameterServerStrategy schedules the same step on the workers
through a ClusterCoordinator, asynchronously. Both average the loss over the global batch, let
the Keras optimizer all-reduce the gradients, and feed Keras callbacks (EarlyStopping, the
checkpoints, TensorBoard, hypertune) with the epoch's metrics.

Keras' own `fit()` is not used: with Keras 3 it cannot drive MultiWorkerMirroredStrategy or
ParameterServerStrategy, and one loop for every target means the code tested on a CPU is the
code that runs on the GPUs and TPUs.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from trainer.distribute import Cluster

log = logging.getLogger(__name__)

CLASSIFICATION = True
# Per-replica sums of a step; the epoch's metrics are ratios of their totals.
SUMS = ("loss", "correct", "count") if CLASSIFICATION else ("loss", "squared", "absolute", "count")


def metrics_from(totals: dict[str, float], target_scale: float = 1.0) -> dict[str, float]:
    """Epoch metrics from summed step statistics; regression errors back in target units."""
    count = max(totals["count"], 1.0)
    result = {"loss": totals["loss"] / count}
    if CLASSIFICATION:
        result["accuracy"] = totals["correct"] / count
    else:
        result["rmse"] = math.sqrt(totals["squared"] / count) * target_scale
        result["mae"] = totals["absolute"] / count * target_scale
    return result


class Trainer:
    """Trains `model` with `optimizer` under `cluster.strategy`."""

    def __init__(
        self,
        cluster: Cluster,
        model: keras.Model,
        optimizer: keras.optimizers.Optimizer,
        loss: keras.losses.Loss,
        steps_per_execution: int = 1,
        target_scale: float = 1.0,
    ) -> None:
        self.cluster = cluster
        self.strategy = cluster.strategy
        self.model = model
        self.optimizer = optimizer
        self.loss = loss
        self.steps_per_execution = max(1, steps_per_execution)
        self.target_scale = target_scale
        # mixed_float16: scale the loss up so small float16 gradients survive; the optimizer
        # scales the gradients back down (and skips steps that overflowed).
        self._loss_scaling = isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
        self.examples_per_second = 0.0
        self.first_step_seconds: float | None = None
        # Running sums of the current pass (float64: exact counts past 2**24 examples), read
        # once per pass, so the host never waits for the accelerator between steps.
        self._sums = {
            k: tf.Variable(0.0, dtype=tf.float64, trainable=False, name=f"sum_{k}") for k in SUMS
        }
        self._train_fn = tf.function(self._train_steps)
        self._eval_fn = tf.function(self._eval_steps)
        # The chief's own evaluation under parameter servers (the last batch may be smaller).
        self._inline_eval_fn = tf.function(self._replica_eval, reduce_retracing=True)

    # ---- one replica's step ------------------------------------------------------------

    def _stats(self, y: tf.Tensor, pred: tf.Tensor, per_example: tf.Tensor) -> dict[str, tf.Tensor]:
        count = tf.cast(tf.shape(y)[0], tf.float32)
        sums = {"loss": tf.reduce_sum(per_example), "count": count}
        if CLASSIFICATION:
            hits = tf.equal(tf.argmax(pred, axis=-1, output_type=tf.int32), tf.cast(y, tf.int32))
            sums["correct"] = tf.reduce_sum(tf.cast(hits, tf.float32))
        else:
            error = tf.reshape(pred, [-1]) - tf.reshape(tf.cast(y, tf.float32), [-1])
            sums["squared"] = tf.reduce_sum(tf.square(error))
            sums["absolute"] = tf.reduce_sum(tf.abs(error))
        return sums

    def _replica_train(self, x: tf.Tensor, y: tf.Tensor) -> dict[str, tf.Tensor]:
        with tf.GradientTape() as tape:
            pred = self.model(x, training=True)
            per_example = tf.cast(self.loss(y, pred), tf.float32)
            # Sum over this replica's examples divided by the global batch: the all-reduce
            # of the gradients then gives the gradient of the global batch's mean loss.
            loss = tf.nn.compute_average_loss(per_example)
            if self.model.losses:
                loss += tf.nn.scale_regularization_loss(tf.add_n(self.model.losses))
            scaled = self.optimizer.scale_loss(loss) if self._loss_scaling else loss
        variables = self.model.trainable_variables
        grads = tape.gradient(scaled, variables)
        self.optimizer.apply_gradients(zip(grads, variables, strict=True))
        return self._stats(y, pred, per_example)

    def _replica_eval(self, x: tf.Tensor, y: tf.Tensor) -> dict[str, tf.Tensor]:
        pred = self.model(x, training=False)
        return self._stats(y, pred, tf.cast(self.loss(y, pred), tf.float32))

    # ---- synchronous strategies ----------------------------------------------------------

    def _reduce(self, per_replica: dict[str, Any]) -> dict[str, tf.Tensor]:
        return {
            k: self.strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica[k], axis=None)
            for k in SUMS
        }

    def _train_steps(self, iterator: Any, steps: tf.Tensor) -> None:
        for _ in tf.range(steps):
            step = self._reduce(self.strategy.run(self._replica_train, args=next(iterator)))
            for k in SUMS:
                self._sums[k].assign_add(tf.cast(step[k], tf.float64))

    def _eval_steps(self, iterator: Any, steps: tf.Tensor) -> None:
        for _ in tf.range(steps):
            step = self._reduce(self.strategy.run(self._replica_eval, args=next(iterator)))
            for k in SUMS:
                self._sums[k].assign_add(tf.cast(step[k], tf.float64))

    def _run(
        self, fn: Callable[..., Any], dataset: tf.data.Dataset, train: bool
    ) -> dict[str, float]:
        steps = int(dataset.cardinality())
        options = tf.data.Options()
        # Every worker reads the whole pipeline and keeps its share of each global batch.
        options.experimental_distribute.auto_shard_policy = (
            tf.data.experimental.AutoShardPolicy.DATA
        )
        iterator = iter(
            self.strategy.experimental_distribute_dataset(dataset.with_options(options))
        )
        for variable in self._sums.values():
            variable.assign(0.0)
        chunks: dict[int, tf.Tensor] = {}  # one tensor per chunk size: no retracing
        done = 0
        while done < steps:
            size = min(self.steps_per_execution, steps - done)
            if size not in chunks:
                chunks[size] = tf.constant(size)
            fn(iterator, chunks[size])
            if train and self.first_step_seconds is None:
                self._sums["count"].numpy()  # waits for the step, which ran asynchronously
                self.first_step_seconds = time.perf_counter()
            done += size
        return {k: float(v.numpy()) for k, v in self._sums.items()}

    def evaluate(self, dataset: tf.data.Dataset) -> dict[str, float]:
        if self.cluster.coordinator is not None:
            return self._evaluate_inline(dataset)
        return metrics_from(self._run(self._eval_fn, dataset, False), self.target_scale)

    def train_epoch(self, dataset: Any, steps: int) -> dict[str, float]:
        started = time.perf_counter()
        if self.cluster.coordinator is not None:
            totals = self._train_epoch_async(dataset, steps)
        else:
            totals = self._run(self._train_fn, dataset, True)
        elapsed = time.perf_counter() - started
        self.examples_per_second = totals["count"] / elapsed if elapsed > 0 else 0.0
        return metrics_from(totals, self.target_scale)

    # ---- parameter servers ---------------------------------------------------------------

    def per_worker_dataset(self, make: Callable[[tf.distribute.InputContext], Any]) -> Any:
        """A dataset on every worker, made there by `make(input_context)`."""
        coordinator = self.cluster.coordinator
        return coordinator.create_per_worker_dataset(
            lambda: self.strategy.distribute_datasets_from_function(make)
        )

    def _train_epoch_async(self, per_worker_dataset: Any, steps: int) -> dict[str, float]:
        coordinator = self.cluster.coordinator
        if not hasattr(self, "_totals"):
            with self.strategy.scope():
                self._totals = {k: tf.Variable(0.0, trainable=False) for k in SUMS}

            @tf.function
            def worker_step(iterator: Any) -> None:
                step = self.strategy.run(self._replica_train, args=next(iterator))
                for k in SUMS:
                    self._totals[k].assign_add(step[k])

            self._worker_step = worker_step
        if not hasattr(self, "_iterator") or self._iterator_source is not per_worker_dataset:
            self._iterator = iter(per_worker_dataset)
            self._iterator_source = per_worker_dataset
        for variable in self._totals.values():
            variable.assign(0.0)
        for i in range(steps):
            coordinator.schedule(self._worker_step, args=(self._iterator,))
            if i == 0 and self.first_step_seconds is None:
                coordinator.join()
                self.first_step_seconds = time.perf_counter()
        coordinator.join()
        return {k: float(v.numpy()) for k, v in self._totals.items()}

    def _evaluate_inline(self, dataset: tf.data.Dataset) -> dict[str, float]:
        """The chief evaluates itself, reading the variables from the parameter servers."""
        totals = dict.fromkeys(SUMS, 0.0)
        for x, y in dataset:
            for k, v in self._inline_eval_fn(x, y).items():
                totals[k] += float(v)
        return metrics_from(totals, self.target_scale)

    # ---- epochs --------------------------------------------------------------------------

    def fit(
        self,
        train: Any,
        val: tf.data.Dataset,
        epochs: int,
        initial_epoch: int,
        callbacks: Sequence[keras.callbacks.Callback],
        steps_per_epoch: int = 0,
    ) -> dict[str, list[float]]:
        """Train from `initial_epoch` to `epochs`; returns the history of every metric."""
        callback_list = keras.callbacks.CallbackList(list(callbacks), model=self.model)
        history: dict[str, list[float]] = {}
        self.model.stop_training = False
        callback_list.on_train_begin()
        for epoch in range(initial_epoch, epochs):
            callback_list.on_epoch_begin(epoch)
            logs = self.train_epoch(train, steps_per_epoch)
            logs |= {f"val_{k}": v for k, v in self.evaluate(val).items()}
            if not all(np.isfinite(v) for v in logs.values()):
                raise FloatingPointError(f"epoch {epoch + 1}: the loss diverged ({logs})")
            logs["examples_per_second"] = self.examples_per_second
            for key, value in logs.items():
                history.setdefault(key, []).append(float(value))
            log.info(
                "epoch %d/%d  %s",
                epoch + 1,
                epochs,
                "  ".join(f"{k}={v:.4g}" for k, v in logs.items()),
            )
            callback_list.on_epoch_end(epoch, logs)
            if self.model.stop_training:
                log.info("early stopping after epoch %d", epoch + 1)
                break
        callback_list.on_train_end()
        return history
