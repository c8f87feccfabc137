"""Reading the training table (CSV or Parquet, a local path or gs://) and splitting it.

pandas reads gs:// URIs through gcsfs, which uses the job's service account on Vertex AI and
Application Default Credentials elsewhere.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

LABEL = "churned"
REGRESSION = False
SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample.csv"
VALIDATION_FRACTION = 0.2
SEED = 42


def read_table(path: str | Path) -> pd.DataFrame:
    """A CSV or Parquet file (by extension), local or on Cloud Storage."""
    text = str(path)
    if not text.startswith("gs://") and not Path(text).exists():
        raise FileNotFoundError(f"{text}: no such file (pass --data PATH or a gs:// URI)")
    if text.endswith((".parquet", ".pq")):
        return pd.read_parquet(text)
    return pd.read_csv(text)


def split_features(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series, list[int], list[int]]:
    """Features, label, and the positions of the numeric and categorical feature columns."""
    if LABEL not in frame.columns:
        columns = ", ".join(repr(c) for c in frame.columns)
        raise ValueError(f"the label column {LABEL!r} is not in the data (columns: {columns})")
    features = frame.drop(columns=[LABEL])
    numeric = [
        i
        for i, column in enumerate(features.columns)
        if pd.api.types.is_numeric_dtype(features[column])
        and not pd.api.types.is_bool_dtype(features[column])
    ]
    categorical = [i for i in range(features.shape[1]) if i not in numeric]
    return features, frame[LABEL], numeric, categorical


def to_inputs(features: pd.DataFrame, numeric: list[int]) -> np.ndarray:
    """The model's input form: an object array, numbers as floats, categories as strings."""
    x = features.to_numpy(dtype=object)
    for i in range(x.shape[1]):
        if i in numeric:
            x[:, i] = x[:, i].astype(float)
        else:
            # Missing stays NaN (what the imputer fills); everything else becomes its text.
            x[:, i] = [np.nan if pd.isna(v) else str(v) for v in x[:, i]]
    return x


def load_split(
    path: str | Path = SAMPLE,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[int], list[int]]:
    """Train and validation arrays plus the numeric and categorical column positions."""
    features, label, numeric, categorical = split_features(read_table(path))
    x = to_inputs(features, numeric)
    y = label.to_numpy(dtype=float) if REGRESSION else label.to_numpy()
    stratify = None if REGRESSION or label.value_counts().min() < 2 else y
    x_train, x_val, y_train, y_val = train_test_split(
        x, y, test_size=VALIDATION_FRACTION, random_state=SEED, stratify=stratify
    )
    return x_train, y_train, x_val, y_val, numeric, categorical


def load_arrays(path: str | Path = SAMPLE) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_val, y_val) in the model's input form."""
    x_train, y_train, x_val, y_val, _, _ = load_split(path)
    return x_train, y_train, x_val, y_val
