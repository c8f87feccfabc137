"""Training on a table streamed in batches (trainer/stream.py): an out-of-core learner.

HistGradientBoostingClassifier has no out-of-core form in scikit-learn (it bins the
whole table in memory): streaming stops with the memory it needs and the ways out (a machine with
that memory, model_family linear for an out-of-core SGD learner, or the XGBoost stack's external
memory).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from trainer import data, model, stream, table
from trainer.table import DataError

LINEAR = False


def fit(path: str, opts: table.Options, params: dict[str, Any], passes: int) -> dict[str, Any]:
    """Fit on the streamed table; returns the estimator, its validation predictions and counts."""
    if not LINEAR:
        need = stream.source_bytes(path) * stream.TABLE_RAM_FACTOR
        raise DataError(
            f"{path}: {model.ESTIMATOR} trains in memory only and needs about {need / 1e9:.2f} GB "
            f"(this machine has {stream.machine_memory() / 1e9:.2f} GB); use a machine with that "
            "memory (--streaming off), model_family linear (an out-of-core SGD learner), or "
            "the XGBoost stack (external memory)"
        )
    from sklearn.linear_model import SGDClassifier, SGDRegressor

    source = stream.Source(path)
    scan = stream.scan(
        source, opts, classification=not data.REGRESSION, numeric_label=data.REGRESSION
    )
    features, _, numeric, categorical = data.split_features(scan.sample, opts)
    if features.shape[1] == 0:
        raise DataError(f"{path}: the table has only the label column; add feature columns")
    columns = list(features.columns)
    pipeline = model.build_pipeline(numeric, categorical, params)
    preprocess = pipeline.named_steps["preprocess"].fit(inputs(features, numeric, categorical))
    values = {p["id"]: p["default"] for p in model.PARAMETERS} | params
    n_train = scan.rows["train"]
    if data.REGRESSION:
        # Ridge's alpha penalises the summed loss; SGD's the mean loss over the rows.
        learner: Any = SGDRegressor(alpha=float(values["alpha"]) / n_train, random_state=data.SEED)
    else:
        learner = SGDClassifier(
            loss="log_loss", alpha=1.0 / (float(values["C"]) * n_train), random_state=data.SEED
        )
    classes = np.array(scan.classes) if not data.REGRESSION else None
    for epoch in range(passes):
        for frame in stream.prefetch(stream.parts(source, opts, "train", epoch=epoch)):
            x, y = encode(frame, opts, columns, numeric, categorical, preprocess)
            if classes is not None:
                learner.partial_fit(x, y, classes=classes)
            else:
                learner.partial_fit(x, y)
    pipeline.steps[-1] = ("model", learner)
    truth, predicted, scores = [], [], []
    for frame in stream.prefetch(stream.parts(source, opts, "validation")):
        x, y = encode(frame, opts, columns, numeric, categorical, preprocess)
        truth.append(y)
        predicted.append(learner.predict(x))
        if classes is not None and len(classes) == 2:
            scores.append(learner.predict_proba(x)[:, 1])
    return {
        "estimator": pipeline,
        "columns": [str(c) for c in columns],
        "numeric": numeric,
        "y_val": np.concatenate(truth),
        "predicted": np.concatenate(predicted),
        "scores": np.concatenate(scores) if scores else None,
        "rows": scan.rows,
        "learner": type(learner).__name__,
    }


def inputs(features: pd.DataFrame, numeric: list[int], categorical: list[int]) -> np.ndarray:
    """The model's input form (as trainer.data.to_inputs; plain floats when all are numeric)."""
    if not categorical:
        return features.to_numpy(dtype=float)
    return data.to_inputs(features, numeric)


def encode(
    frame: pd.DataFrame,
    opts: table.Options,
    columns: list[str],
    numeric: list[int],
    categorical: list[int],
    preprocess: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """A batch's transformed features and its labels."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"a batch lacks column {missing[0]!r} (the first batches had it)")
    x = preprocess.transform(inputs(frame[columns], numeric, categorical))
    label = frame[opts.label_column]
    y = label.to_numpy(dtype=float) if data.REGRESSION else label.to_numpy()
    return x, y
