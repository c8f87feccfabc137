"""Reading the training table (CSV or Parquet: a file, folder or glob; local or gs://), split.

The flags, checks and split are the project's shared data interface (trainer/table.py). pandas
reads gs:// URIs through gcsfs, which uses the job's service account on Vertex AI and Application
Default Credentials elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from trainer import table
from trainer.table import DataError

LABEL = table.LABEL_COLUMN
REGRESSION = False
SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample.csv"
SEED = table.SEED

__all__ = [
    "DataError",
    "LABEL",
    "REGRESSION",
    "SAMPLE",
    "SEED",
    "load_arrays",
    "load_split",
    "prepare",
    "to_inputs",
]


def split_features(
    frame: pd.DataFrame, opts: table.Options
) -> tuple[pd.DataFrame, pd.Series, list[int], list[int]]:
    """Features, label, and the positions of the numeric and categorical feature columns."""
    features = table.features_of(frame, opts)
    numeric = [
        i
        for i, column in enumerate(features.columns)
        if pd.api.types.is_numeric_dtype(features[column])
        and not pd.api.types.is_bool_dtype(features[column])
    ]
    categorical = [i for i in range(features.shape[1]) if i not in numeric]
    return features, frame[opts.label_column], numeric, categorical


def to_inputs(features: pd.DataFrame, numeric: list[int]) -> np.ndarray:
    """The model's input form: an object array, numbers as floats, categories as strings."""
    x = features.to_numpy(dtype=object, copy=True)  # a writable copy (Parquet gives views)
    for i in range(x.shape[1]):
        if i in numeric:
            x[:, i] = x[:, i].astype(float)
        else:
            # Missing stays NaN (what the imputer fills); everything else becomes its text.
            x[:, i] = [np.nan if pd.isna(v) else str(v) for v in x[:, i]]
    return x


@dataclass
class Prepared:
    """The model's inputs for every row, the split, and the feature columns they came from."""

    x: np.ndarray
    y: np.ndarray
    train_rows: np.ndarray
    val_rows: np.ndarray
    columns: list[str]
    numeric: list[int]
    categorical: list[int]


def prepare(path: str | Path = SAMPLE, opts: table.Options | None = None) -> Prepared:
    """The checked table in the model's input form; the serving code reads `columns` (saved in
    preprocessing.json) to turn a client's named feature values into the same input form."""
    opts = opts or table.Options()
    source = str(path)
    frame = table.check_table(
        table.read_table(source),
        source,
        opts,
        classification=not REGRESSION,
        numeric_label=REGRESSION,
    )
    features, label, numeric, categorical = split_features(frame, opts)
    if features.shape[1] == 0:
        raise DataError(f"{source}: the table has only the label column; add feature columns")
    x = to_inputs(features, numeric)
    y = label.to_numpy(dtype=float) if REGRESSION else label.to_numpy()
    train_rows, val_rows = table.split_rows(frame, source, opts)
    columns = [str(c) for c in features.columns]
    return Prepared(x, y, train_rows, val_rows, columns, numeric, categorical)


def load_split(
    path: str | Path = SAMPLE, opts: table.Options | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[int], list[int]]:
    """Train and validation arrays plus the numeric and categorical column positions."""
    p = prepare(path, opts)
    x, y, train, val = p.x, p.y, p.train_rows, p.val_rows
    return x[train], y[train], x[val], y[val], p.numeric, p.categorical


def load_arrays(
    path: str | Path = SAMPLE, opts: table.Options | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_val, y_val) in the model's input form."""
    x_train, y_train, x_val, y_val, _, _ = load_split(path, opts)
    return x_train, y_train, x_val, y_val
