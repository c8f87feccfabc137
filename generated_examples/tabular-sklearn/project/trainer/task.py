"""Train the model: `python -m trainer.task` (every flag has a default; see `--help`).

Locally, with no hyperparameter flags, it runs a grid search over the tuned
parameters (the recommendation chose grid search). On Vertex AI, a hyperparameter
tuning trial passes `--<id>=<value>` for each tuned parameter; the trainer then fits that one
configuration and reports the metric with cloudml-hypertune.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import os
import posixpath
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from sklearn import metrics as skm
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV

from trainer import data, experiments, model, stream, table

# From the recommendation: the local search (none, grid or random) and whether Vertex AI tunes.
LOCAL_SEARCH = "grid"
TUNING = True
SEARCH_ITERATIONS = 10
_TYPES: dict[str, Any] = {"double": float, "categorical": str, "discrete": float}


def whole(text: str) -> int:
    """An integer flag that also takes "50.0": Vertex AI passes discrete values as numbers."""
    value = float(text)
    if not value.is_integer():
        raise argparse.ArgumentTypeError(f"{text} is not a whole number")
    return int(value)


def build_parser() -> argparse.ArgumentParser:
    """The trainer's flags; submit.py and the tests check the job's args with it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data",
        default=table.default_data(str(data.SAMPLE)),
        help="CSV or Parquet file, folder or glob; local or gs://",
    )
    table.add_arguments(parser)
    experiments.add_arguments(parser)
    parser.add_argument(
        "--model_dir", default=os.environ.get("AIP_MODEL_DIR", "outputs/model"), help="model output"
    )
    parser.add_argument(
        "--checkpoint_dir",
        default=os.environ.get("AIP_CHECKPOINT_DIR", "outputs/checkpoints"),
        help="accepted for the common trainer interface; a single fit writes no checkpoints",
    )
    parser.add_argument(
        "--tensorboard_dir",
        default=os.environ.get("AIP_TENSORBOARD_LOG_DIR", "outputs/logs"),
        help="accepted for the common trainer interface; scikit-learn logs no curves",
    )
    parser.add_argument(
        "--metrics_path", default=None, help="default: metrics.json beside the model dir"
    )
    parser.add_argument(
        "--search",
        choices=["auto", "none", "grid", "random"],
        default="auto",
        help="local search; auto = the recommended one unless tuned flags are given",
    )
    parser.add_argument("--search_iterations", type=int, default=SEARCH_ITERATIONS)
    parser.add_argument("--cv", type=int, default=3, help="cross-validation folds of the search")
    parser.add_argument("--n_jobs", type=int, default=-1)
    parser.add_argument(
        "--passes", type=int, default=3, help="passes over a streamed table (default: %(default)s)"
    )
    for p in model.PARAMETERS:
        kind = whole if p["type"] == "integer" else _TYPES[p["type"]]
        choices = p["values"] if p["type"] == "categorical" else None
        parser.add_argument(
            f"--{p['id']}",
            type=kind,
            choices=choices,
            default=None,
            help=f"{p['help']} (default {p['default']})",
        )
    return parser


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def is_vertex_trial() -> bool:
    """True inside a Vertex AI hyperparameter tuning trial."""
    if os.environ.get("CLOUD_ML_TRIAL_ID"):
        return True
    spec = json.loads(os.environ.get("CLUSTER_SPEC") or "{}")
    return bool(spec.get("task", {}).get("trial"))


def is_chief() -> bool:
    """Only the primary replica (worker pool 0) writes the model."""
    spec = json.loads(os.environ.get("CLUSTER_SPEC") or "{}")
    return spec.get("task", {}).get("type", "workerpool0") == "workerpool0"


def write_bytes(path: str, payload: bytes) -> None:
    """Write a file locally (atomically) or to Cloud Storage (gcsfs)."""
    if path.startswith("gs://"):
        import fsspec

        with fsspec.open(path, "wb") as handle:
            handle.write(payload)
        return
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.write_bytes(payload)
    os.replace(partial, target)


def evaluate(estimator: Any, x_val: np.ndarray, y_val: np.ndarray) -> dict[str, float]:
    classes = getattr(estimator, "classes_", [])
    two = len(classes) == 2 and len(set(y_val.tolist())) == 2
    scores = estimator.predict_proba(x_val)[:, 1] if two and not model.REGRESSION else None
    return scores_of(y_val, estimator.predict(x_val), scores, classes)


def scores_of(
    y_val: np.ndarray, predicted: np.ndarray, scores: np.ndarray | None, classes: Any
) -> dict[str, float]:
    """The validation metrics; `scores` are the second class's probabilities (two classes)."""
    if model.REGRESSION:
        return {
            "rmse": float(np.sqrt(skm.mean_squared_error(y_val, predicted))),
            "mae": float(skm.mean_absolute_error(y_val, predicted)),
            "r2": float(skm.r2_score(y_val, predicted)),
        }
    result = {
        "accuracy": float(skm.accuracy_score(y_val, predicted)),
        "f1_macro": float(skm.f1_score(y_val, predicted, average="macro")),
    }
    if scores is not None and len(classes) == 2 and len(set(y_val.tolist())) == 2:
        result["roc_auc"] = float(skm.roc_auc_score(y_val == classes[1], scores))
    return result


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    started = time.time()
    try:
        opts = table.options(args)
        streaming, why = stream.wanted(args.streaming, args.data)
        if streaming:
            print(f"streaming {args.data}: {why}")
            return fit_streamed(args, opts, started)
        prepared = data.prepare(args.data, opts)
    except data.DataError as exc:
        # Bad input is the user's to fix: the message, exit code 2, no traceback.
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    x, y, train_rows, val_rows = prepared.x, prepared.y, prepared.train_rows, prepared.val_rows
    x_train, y_train, x_val, y_val = x[train_rows], y[train_rows], x[val_rows], y[val_rows]
    numeric, categorical = prepared.numeric, prepared.categorical
    given = {p["id"]: getattr(args, p["id"]) for p in model.PARAMETERS}
    given = {key: value for key, value in given.items() if value is not None}
    search = args.search
    if search == "auto":
        # A tuning trial (or explicit flags) fits exactly the configuration it was given.
        search = "none" if is_vertex_trial() or set(given) & set(model.TUNED) else LOCAL_SEARCH
    if not model.TUNED:
        search = "none"
    estimator = model.build_pipeline(numeric, categorical, given)
    search_report: dict[str, Any] = {"kind": search}
    if search != "none":
        scoring = "neg_root_mean_squared_error" if model.REGRESSION else "accuracy"
        space = model.search_space(search)
        if search == "grid":
            searcher: Any = GridSearchCV(
                estimator, space, scoring=scoring, cv=args.cv, n_jobs=args.n_jobs
            )
        else:
            searcher = RandomizedSearchCV(
                estimator,
                space,
                n_iter=args.search_iterations,
                scoring=scoring,
                cv=args.cv,
                n_jobs=args.n_jobs,
                random_state=data.SEED,
            )
        searcher.fit(x_train, y_train)
        estimator = searcher.best_estimator_
        search_report |= {
            "best_params": {
                k.removeprefix("model__"): _plain(v) for k, v in searcher.best_params_.items()
            },
            "best_cv_score": float(searcher.best_score_),
            "candidates": len(searcher.cv_results_["params"]),
        }
    else:
        estimator.fit(x_train, y_train)
    validation = evaluate(estimator, x_val, y_val)
    result = {
        "estimator": model.ESTIMATOR,
        "metric": model.METRIC,
        "validation": validation,
        "search": search_report,
        "rows": {"train": int(len(y_train)), "validation": int(len(y_val))},
        "seconds": round(time.time() - started, 3),
    }
    finish(args, estimator, result, validation, serving_record(prepared.columns, numeric, opts))
    return result


def serving_record(columns: list[str], numeric: list[Any], opts: table.Options) -> dict[str, Any]:
    """What the serving code needs (preprocessing.json) to turn a client's named feature values
    into the pipeline's input form with the trainer's own data.to_inputs."""
    return {
        "columns": columns,
        "numeric": numeric,
        "label": opts.label_column,
        "data_options": dataclasses.asdict(opts),
    }


def fit_streamed(args: argparse.Namespace, opts: table.Options, started: float) -> dict[str, Any]:
    """The out-of-core path (trainer/out_of_core.py): no search, one configuration."""
    from trainer import out_of_core

    given = {p["id"]: getattr(args, p["id"]) for p in model.PARAMETERS}
    given = {key: value for key, value in given.items() if value is not None}
    fitted = out_of_core.fit(args.data, opts, given, args.passes)
    estimator = fitted["estimator"]
    validation = scores_of(
        fitted["y_val"], fitted["predicted"], fitted["scores"], getattr(estimator, "classes_", [])
    )
    result = {
        "estimator": fitted["learner"],
        "metric": model.METRIC,
        "validation": validation,
        "search": {"kind": "none", "why": "a streamed table is fitted once, out of core"},
        "rows": fitted["rows"],
        "streaming": True,
        "seconds": round(time.time() - started, 3),
    }
    record = serving_record(fitted["columns"], fitted["numeric"], opts)
    finish(args, estimator, result, validation, record)
    return result


def finish(
    args: argparse.Namespace,
    estimator: Any,
    result: dict[str, Any],
    validation: dict[str, float],
    preprocessing: dict[str, Any],
) -> None:
    """Report the metric to a tuning job, write the model and metrics.json (chief only)."""
    if TUNING:
        import hypertune

        hypertune.HyperTune().report_hyperparameter_tuning_metric(
            hyperparameter_metric_tag=model.METRIC["id"],
            metric_value=validation[model.METRIC["id"]],
            global_step=1,
        )
    if is_chief():
        model_dir = args.model_dir.rstrip("/")
        buffer = io.BytesIO()
        joblib.dump(estimator, buffer)
        write_bytes(posixpath.join(model_dir, "model.joblib"), buffer.getvalue())
        write_bytes(
            posixpath.join(model_dir, "preprocessing.json"),
            (json.dumps(preprocessing, indent=2) + "\n").encode(),
        )
        metrics_path = args.metrics_path or posixpath.join(
            posixpath.dirname(model_dir) or ".", "metrics.json"
        )
        write_bytes(metrics_path, (json.dumps(result, indent=2) + "\n").encode())
    # One Vertex AI Experiments run a fit (a no-op without --experiment).
    experiments.start(args, enabled=is_chief()).finish(validation)
    summary = ", ".join(f"{key}={value:.4f}" for key, value in validation.items())
    print(f"{result['estimator']}: {summary} ({result['seconds']} s)")


def _plain(value: Any) -> Any:
    """A JSON-friendly value (numpy scalars become Python numbers)."""
    return value.item() if isinstance(value, np.generic) else value


if __name__ == "__main__":
    main()
