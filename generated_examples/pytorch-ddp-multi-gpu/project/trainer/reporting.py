"""Per-epoch reporting: the log, TensorBoard, Vertex AI Experiments (when an experiment is named)
and, when tuning, Vertex AI's tuning service."""

from __future__ import annotations

import logging
import os
import sys
import types
from typing import Any

from trainer import storage

LOG = logging.getLogger("trainer")
# The metric Vertex AI's tuning service optimizes (trainer/hyperparameters.json names it too).
METRIC_ID = "accuracy"
METRIC_GOAL = "maximize"
TUNING = False


def default_dirs() -> dict[str, str]:
    """Vertex AI's output folders (AIP_*), or local ones under outputs/."""
    return {
        "model_dir": os.environ.get("AIP_MODEL_DIR", "outputs/model"),
        "checkpoint_dir": os.environ.get("AIP_CHECKPOINT_DIR", "outputs/checkpoints"),
        "tensorboard_dir": os.environ.get("AIP_TENSORBOARD_LOG_DIR", "outputs/logs"),
    }


def metrics_path(model_dir: str, explicit: str | None) -> str:
    """metrics.json beside the model folder (its parent) unless --metrics_path says otherwise."""
    return explicit or storage.join(storage.parent(model_dir) or ".", "metrics.json")


def tensorboard_without_tensorflow() -> None:
    """Keep TensorBoard from importing all of TensorFlow (seconds of start-up) to write event files.

    Its built-in writer does the same job, local and gs:// (through fsspec)."""
    sys.modules.setdefault("tensorboard.compat.notf", types.ModuleType("tensorboard.compat.notf"))


def open_summary_writer(logdir: str) -> Any:
    """A TensorBoard SummaryWriter, or None when the tensorboard package is missing."""
    tensorboard_without_tensorflow()
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        LOG.warning("tensorboard is not installed: no TensorBoard logs (pip install tensorboard)")
        return None
    return SummaryWriter(log_dir=storage.resolve(logdir))


class Reporter:
    """Writes each epoch's metrics where they are read; only the chief process reports."""

    def __init__(self, tensorboard_dir: str | None, chief: bool, run: Any = None) -> None:
        self.chief = chief
        self.run = run  # an experiments.Run: each epoch's metrics go to Vertex AI Experiments
        self.writer = open_summary_writer(tensorboard_dir) if chief and tensorboard_dir else None
        self.tuner: Any = None
        if chief and TUNING:
            import hypertune

            self.tuner = hypertune.HyperTune()

    def epoch(self, epoch: int, metrics: dict[str, float]) -> None:
        if not self.chief:
            return
        LOG.info("epoch %d %s", epoch, " ".join(f"{k}={v:.4f}" for k, v in metrics.items()))
        if self.writer is not None:
            for name, value in metrics.items():
                self.writer.add_scalar(name, value, epoch)
            self.writer.flush()
        if self.run is not None:
            self.run.epoch(epoch, metrics)
        if self.tuner is not None:
            self.tuner.report_hyperparameter_tuning_metric(
                hyperparameter_metric_tag=METRIC_ID,
                metric_value=float(metrics[METRIC_ID]),
                global_step=epoch,
            )

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
