"""Vertex AI Experiments: the run's parameters, each epoch's metrics and the final metrics.

With `--experiment NAME` the trainer logs to a run of that experiment (created when missing);
without it every call here does nothing, and the Vertex AI SDK is not even imported. On Vertex AI
the SDK finds the project and region in the job's environment (CLOUD_ML_PROJECT_ID,
CLOUD_ML_REGION); locally it reads GOOGLE_CLOUD_PROJECT and GOOGLE_CLOUD_REGION, or gcloud's
defaults. Per-epoch values are time series, which Experiments keeps in the experiment's backing
Vertex AI TensorBoard (the SDK assigns a default one).
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import re
from collections.abc import Mapping
from typing import Any

# Experiment and run names: lowercase letters, digits and dashes, 128 characters at most.
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,127}$")


def add_arguments(parser: Any) -> None:
    """The flags that turn logging on, on a parser or an argument group (submit.py passes both
    when an experiment is set)."""
    parser.add_argument(
        "--experiment", default="", type=_name, help="Vertex AI Experiments experiment to log to"
    )
    parser.add_argument(
        "--experiment_run", default="", type=_name, help="the run's name (default: a timestamp)"
    )


def _name(text: str) -> str:
    if text and not _NAME.match(text):
        raise argparse.ArgumentTypeError(
            f"{text!r}: lowercase letters, digits and dashes, at most 128, not starting with a dash"
        )
    return text


def _scalars(values: Mapping[str, Any]) -> dict[str, float]:
    """The finite numbers among `values` (Experiments takes only numbers as metrics)."""
    found = {}
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if math.isfinite(value):
            found[str(key)] = float(value)
    return found


def _params(values: Mapping[str, Any]) -> dict[str, float | int | str]:
    """Parameters as Experiments stores them: numbers and strings (the rest as text)."""
    found: dict[str, float | int | str] = {}
    for key, value in values.items():
        if value is None:
            continue
        if isinstance(value, bool):
            found[str(key)] = str(value).lower()
        elif isinstance(value, int | float | str):
            found[str(key)] = value
        else:
            found[str(key)] = str(value)
    return found


class Run:
    """One experiment run; a no-op when no experiment is named or on a non-chief replica."""

    def __init__(self, experiment: str, run: str = "", enabled: bool = True) -> None:
        self.experiment = experiment if enabled else ""
        self.run = run or datetime.datetime.now(datetime.UTC).strftime("run-%Y%m%d-%H%M%S")
        self._sdk: Any = None

    @property
    def active(self) -> bool:
        return bool(self.experiment)

    def start(self, params: Mapping[str, Any]) -> Run:
        """Open the run (resumed when it exists: a restarted job logs to the same run)."""
        if not self.active:
            return self
        from google.cloud import aiplatform

        self._sdk = aiplatform
        aiplatform.init(experiment=self.experiment)
        aiplatform.start_run(self.run, resume=_run_exists(aiplatform, self.run))
        aiplatform.log_params(_params(params))
        return self

    def epoch(self, step: int, metrics: Mapping[str, Any]) -> None:
        """One epoch's (or boosting round's) metrics, as time series at `step`."""
        values = _scalars(metrics)
        if self._sdk is not None and values:
            self._sdk.log_time_series_metrics(values, step=int(step))

    def history(self, curves: Mapping[str, Any], first_step: int = 1) -> None:
        """Per-epoch curves recorded by the training loop ({name: [value per epoch]})."""
        lists = {k: v for k, v in curves.items() if isinstance(v, list | tuple)}
        for index in range(max((len(v) for v in lists.values()), default=0)):
            self.epoch(
                first_step + index, {k: v[index] for k, v in lists.items() if index < len(v)}
            )

    def finish(self, metrics: Mapping[str, Any]) -> None:
        """The final metrics (summary values), then close the run."""
        if self._sdk is None:
            return
        values = _scalars(metrics)
        if values:
            self._sdk.log_metrics(values)
        self._sdk.end_run()
        self._sdk = None


def _run_exists(aiplatform: Any, run: str) -> bool:
    """Whether the run is already in the experiment (a preempted job that restarts)."""
    try:
        aiplatform.ExperimentRun(run_name=run)
    except Exception:  # noqa: BLE001 - the SDK raises NotFound or ValueError for a new run
        return False
    return True


def start(args: argparse.Namespace, enabled: bool = True) -> Run:
    """The trainer's hook: a run named by its flags, started with every flag as a parameter.
    Each trial of a tuning job logs to a run of its own (the job's run name and the trial id)."""
    params = {k: v for k, v in vars(args).items() if not k.startswith("experiment")}
    run, trial = args.experiment_run, os.environ.get("CLOUD_ML_TRIAL_ID")
    if run and trial:
        run = f"{run}-trial-{trial}"
    return Run(args.experiment, run, enabled).start(params)
