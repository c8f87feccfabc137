"""Reading the training data, splitting it and turning it into the model's inputs.

`--data` is a CSV or Parquet file, a folder of them or a glob, on a local disk or Cloud Storage
(gs://, read through gcsfs with the job's service account on Vertex AI and Application Default
Credentials elsewhere).
Every column but the label is a feature: numeric columns as they are, other columns one-hot
encoded over the categories seen in training.
The data flags (--label_column, --id_columns, --validation_split, --split_column, --schema) are
the project's shared ones (trainer/table.py).

`prepare()` returns the split arrays and the preprocessing metadata (saved as
preprocessing.json beside the model); `load_arrays()` gives the arrays in the model's input form
(tests and the compression step use it); `make_dataset()` builds the tf.data pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trainer import table
from trainer.table import DataError, read_table, source_files

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = str(ROOT / "data/sample.csv")
LABEL = table.LABEL_COLUMN
CLASSIFICATION = False
SEED = table.SEED
__all__ = ["DataError", "read_table", "source_files"]  # the shared ones, re-exported
# Categories kept per column (the most frequent); the rest share one "other" slot.
MAX_CATEGORIES = 100


@dataclass
class Split:
    """Train and validation arrays in the model's input form, and how they were made."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    meta: dict[str, Any]


def fit_preprocessing(train: pd.DataFrame, label: str) -> dict[str, Any]:
    """Which columns are numeric or categorical, the fill values and the category lists."""
    features = [c for c in train.columns if c != label]
    if not features:
        raise DataError(f"the table has only the label column {label!r}; add feature columns")
    numeric: dict[str, float] = {}
    categorical: dict[str, list[str]] = {}
    for column in features:
        values = train[column]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            median = pd.to_numeric(values, errors="coerce").median()
            numeric[str(column)] = 0.0 if pd.isna(median) else float(median)
        else:
            counts = values.dropna().astype(str).value_counts()
            ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
            categorical[str(column)] = [name for name, _ in ranked[:MAX_CATEGORIES]]
    return {"features": [str(c) for c in features], "numeric": numeric, "categorical": categorical}


def transform(frame: pd.DataFrame, meta: dict[str, Any]) -> np.ndarray:
    """The model's input matrix: numeric columns (missing values filled with the training
    median), then for each categorical column one slot per known category plus one for
    anything else (unseen or missing)."""
    frame = frame.rename(columns=str)
    parts = []
    for column, fill in meta["numeric"].items():
        values = pd.to_numeric(frame[column], errors="coerce").astype(float).fillna(fill)
        parts.append(values.to_numpy(dtype=np.float32)[:, None])
    for column, categories in meta["categorical"].items():
        index = {name: i for i, name in enumerate(categories)}
        codes = np.array(
            [
                index.get(str(v), len(categories)) if not pd.isna(v) else len(categories)
                for v in frame[column]
            ],
            dtype=np.int64,
        )
        parts.append(np.eye(len(categories) + 1, dtype=np.float32)[codes])
    return np.concatenate(parts, axis=1)


def column_names(meta: dict[str, Any]) -> list[str]:
    """The name of each input column of the model, in order."""
    names = list(meta["numeric"])
    for column, categories in meta["categorical"].items():
        names += [f"{column}={name}" for name in categories] + [f"{column}=<other>"]
    return names


def prepare(
    path: str = DEFAULT_DATA, label: str = LABEL, opts: table.Options | None = None, **_: Any
) -> Split:
    opts = opts or table.Options(label_column=label)
    label = opts.label_column
    frame = table.check_table(
        read_table(path),
        path,
        opts,
        classification=CLASSIFICATION,
        numeric_label=not CLASSIFICATION,
    )
    if len(frame) < 10:
        raise DataError(f"{path}: {len(frame)} labelled rows; at least 10 are needed")
    train_rows, val_rows = table.split_rows(frame, path, opts)
    frame = table.features_of(frame, opts).assign(**{label: frame[label]})
    train, val = frame.iloc[train_rows], frame.iloc[val_rows]
    meta = fit_preprocessing(train, label)
    x_train, x_val = transform(train, meta), transform(val, meta)
    meta["columns"] = column_names(meta)
    # Normalization statistics of the input matrix: the model's first layer applies them.
    meta["mean"] = x_train.mean(axis=0).tolist()
    meta["variance"] = x_train.var(axis=0).tolist()
    try:
        y_train = train[label].to_numpy(dtype=np.float32)
        y_val = val[label].to_numpy(dtype=np.float32)
    except (TypeError, ValueError):
        raise DataError(f"{path}: column {label!r} must be numeric for regression") from None
    meta["target_mean"] = float(y_train.mean())
    meta["target_std"] = float(y_train.std()) or 1.0
    meta["label"] = label
    return Split(x_train, y_train, x_val, y_val, meta)


def load_arrays(
    path: str = DEFAULT_DATA, **options: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_val, y_val) in the model's input form;
    `options` are the data flags of trainer.task (none)."""
    split = prepare(path, **options)
    return split.x_train, split.y_train, split.x_val, split.y_val


def make_dataset(
    x: np.ndarray,
    y: np.ndarray,
    meta: dict[str, Any],
    batch_size: int,
    *,
    shuffle: bool,
    drop_remainder: bool = False,
    seed: int = SEED,
) -> Any:
    """A batched, prefetching tf.data pipeline over (inputs, targets)."""
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
        # A fixed seed gives every worker the same order, which sharding relies on.
        dataset = dataset.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    return dataset.prefetch(tf.data.AUTOTUNE)
