"""The data interface every trainer of this project shares: its flags, reading, checks and split.

The same flags mean the same thing whatever the framework:

  --data              CSV or Parquet file, folder of them or glob; local or gs://; or a BigQuery
                      table, bq://project.dataset.table (the Storage Read API, trainer/bigquery.py)
  --label_column      the column to predict
  --id_columns        comma-separated columns left out of the features (IDs carry no signal)
  --validation_split  the fraction of rows held out for validation (a fixed shuffled split)
  --split_column      a column saying which rows validate ("validation", "valid", "val", "test"
                      or "eval"; any other value trains), instead of the shuffled split
  --schema            a JSON file {"column": "numeric" | "categorical" | "ignore"} that fixes
                      how columns are read instead of guessing from the values

Unusable data raises DataError, which the trainer reports with exit code 2 and no traceback.
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trainer import bigquery

LABEL_COLUMN = "label"
ID_COLUMNS = []
VALIDATION_SPLIT = 0.2
SEED = 42
TABLE_SUFFIXES = (".csv", ".parquet", ".pq")
VALIDATION_VALUES = frozenset({"validation", "valid", "val", "test", "eval"})
SCHEMA_KINDS = ("numeric", "categorical", "ignore")


class DataError(Exception):
    """Unusable input data: the trainer reports it with exit code 2 and no traceback."""


@dataclass
class Options:
    """The data flags, parsed."""

    label_column: str = LABEL_COLUMN
    id_columns: list[str] = field(default_factory=lambda: list(ID_COLUMNS))
    validation_split: float = VALIDATION_SPLIT
    split_column: str | None = None
    schema: dict[str, str] = field(default_factory=dict)
    streaming: str = "auto"


def column_list(text: str) -> list[str]:
    """The list a comma-separated --id_columns names ("a, b" -> ["a", "b"])."""
    return [name.strip() for name in text.split(",") if name.strip()]


def fraction(text: str) -> float:
    value = float(text)
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"{text}: a fraction between 0 and 1 (exclusive)")
    return value


def add_arguments(
    parser: Any, label_column: str = LABEL_COLUMN, legacy: dict[str, str] | None = None
) -> None:
    """The shared data flags (--data stays with each trainer: its default differs).

    `legacy` maps a flag to an older name that still works and that names its attribute."""
    legacy = legacy or {}

    def add(name: str, **kwargs: Any) -> None:
        old = legacy.get(name)
        flags = [f"--{name}"] + ([f"--{old}"] if old else [])
        parser.add_argument(*flags, dest=old or name, metavar=name.upper(), **kwargs)

    add("label_column", default=label_column, help="the column to predict (default: %(default)s)")
    add(
        "id_columns",
        type=column_list,
        default=list(ID_COLUMNS),
        help="comma-separated columns left out of the features",
    )
    add(
        "validation_split",
        type=fraction,
        default=VALIDATION_SPLIT,
        help="fraction of rows held out for validation (default: %(default)s)",
    )
    add(
        "split_column",
        default=None,
        help="a column whose value validation/valid/val/test/eval marks validation rows",
    )
    add("schema", default=None, help='JSON file {"column": "numeric" | "categorical" | "ignore"}')


def options(args: argparse.Namespace, legacy: dict[str, str] | None = None) -> Options:
    """The Options of parsed flags (a missing flag keeps its default)."""
    legacy = legacy or {}
    schema_path = getattr(args, "schema", None)
    return Options(
        label_column=getattr(args, legacy.get("label_column", "label_column"), LABEL_COLUMN),
        id_columns=list(getattr(args, "id_columns", ID_COLUMNS)),
        validation_split=getattr(
            args, legacy.get("validation_split", "validation_split"), VALIDATION_SPLIT
        ),
        split_column=getattr(args, "split_column", None),
        schema=read_schema(schema_path) if schema_path else {},
        streaming=getattr(args, "streaming", "auto"),
    )


def read_schema(path: str) -> dict[str, str]:
    """The --schema file: a JSON object of column name -> numeric, categorical or ignore."""
    try:
        text = Path(path).read_text(encoding="utf-8")
        schema = json.loads(text)
    except OSError as exc:
        raise DataError(f"{path}: cannot read the schema file ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not JSON ({exc.msg}, line {exc.lineno})") from None
    if not isinstance(schema, dict):
        raise DataError(f"{path}: the schema must be a JSON object of column -> kind")
    for column, kind in schema.items():
        if kind not in SCHEMA_KINDS:
            allowed = ", ".join(SCHEMA_KINDS)
            raise DataError(f"{path}: column {column!r} has kind {kind!r}; allowed: {allowed}")
    return {str(k): str(v) for k, v in schema.items()}


def source_files(path: str) -> list[str]:
    """The table files behind `path`: the file itself, every table of a folder, or a glob
    (a bq:// table is its own single source)."""
    import fsspec

    if bigquery.is_bigquery(path):
        try:
            bigquery.parse(path)
        except bigquery.BigQueryError as exc:
            raise DataError(str(exc)) from None
        return [path]

    try:
        fs, _, found = fsspec.get_fs_token_paths(path)
        files: list[str] = []
        for item in found:
            if fs.isdir(item):
                files += sorted(p for p in fs.find(item) if p.endswith(TABLE_SUFFIXES))
            elif fs.exists(item):
                files.append(item)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot be read ({exc})") from None
    if not files:
        raise DataError(f"{path}: no such file (pass --data with a CSV or Parquet file, or gs://)")
    return [fs.unstrip_protocol(f) if "://" in path else f for f in files]


def read_table(path: str) -> pd.DataFrame:
    """Every table behind `path`, concatenated (Parquet by extension, CSV otherwise; a bq://
    table through the BigQuery Storage Read API)."""
    import fsspec

    if bigquery.is_bigquery(path):
        try:
            frame = bigquery.read_arrow(path).to_pandas().rename(columns=str)
        except bigquery.BigQueryError as exc:
            raise DataError(str(exc)) from None
        if frame.empty:
            raise DataError(f"{path}: the table has no rows (columns: {_names(frame.columns)})")
        return frame
    frames = []
    for name in source_files(path):
        try:
            with fsspec.open(name, "rb") as handle:
                if name.endswith((".parquet", ".pq")):
                    frames.append(pd.read_parquet(handle))
                else:
                    frames.append(pd.read_csv(handle))
        except pd.errors.EmptyDataError:
            raise DataError(f"{name}: the file is empty (no header, no rows)") from None
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            raise DataError(f"{name}: not a readable CSV or Parquet table ({exc})") from None
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    frame = frame.rename(columns=str)
    if frame.empty:
        raise DataError(f"{path}: the table has no rows (columns: {_names(frame.columns)})")
    return frame


def _names(columns: Any) -> str:
    return ", ".join(repr(str(c)) for c in columns) or "none"


def require_columns(frame: pd.DataFrame, path: str, names: list[str], flag: str) -> None:
    """DataError naming the file, the first missing column, the columns found and the flag."""
    missing = [name for name in names if name not in frame.columns]
    if missing:
        raise DataError(
            f"{path}: no column {missing[0]!r} (the columns are: {_names(frame.columns)}); "
            f"rename a column, or pass {flag}"
        )


def mixed_columns(frame: pd.DataFrame) -> dict[str, tuple[str, str]]:
    """Text columns that hold numbers in some rows and words in others, with an example of each.

    pandas reads such a column as text, so a numeric feature with a stray "n/a" or "12,5" would
    silently become thousands of categories."""
    found: dict[str, tuple[str, str]] = {}
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            continue
        present = values.dropna().astype(str)
        numbers = pd.to_numeric(present, errors="coerce")
        is_number = numbers.notna().to_numpy()
        # Mostly numbers with a few words: a typo, not a category (codes like "A1" stay text).
        if (~is_number).any() and is_number.mean() >= 0.5:
            found[str(column)] = (present[is_number].iloc[0], present[~is_number].iloc[0])
    return found


def check_table(
    frame: pd.DataFrame, path: str, opts: Options, *, classification: bool, numeric_label: bool
) -> pd.DataFrame:
    """The table the model trains on: checked, ID and ignored columns dropped, labelled rows only.

    DataError for a missing label, ID or split column, a table with no labelled row, a label with
    one class (classification) or not numeric (regression), a column of mixed numbers and text.
    """
    label = opts.label_column
    require_columns(frame, path, [label], "--label_column")
    require_columns(frame, path, opts.id_columns, "--id_columns")
    unknown = [c for c in opts.schema if c not in frame.columns]
    if unknown:
        raise DataError(
            f"{path}: the --schema names column {unknown[0]!r}, which the table lacks "
            f"(the columns are: {_names(frame.columns)})"
        )
    if opts.split_column is not None:
        require_columns(frame, path, [opts.split_column], "--split_column")
    drop = list(opts.id_columns) + [c for c, kind in opts.schema.items() if kind == "ignore"]
    frame = frame.drop(columns=[c for c in dict.fromkeys(drop) if c != label])
    frame = frame[frame[label].notna()].reset_index(drop=True)
    if frame.empty:
        raise DataError(f"{path}: column {label!r} has no values; no row is labelled")
    if classification:
        classes = {str(v) for v in frame[label]}
        if len(classes) < 2:
            raise DataError(
                f"{path}: column {label!r} has one class ({next(iter(classes))!r}); "
                "classification needs at least two"
            )
    elif numeric_label and not pd.api.types.is_numeric_dtype(frame[label]):
        example = next(
            (v for v in frame[label].astype(str) if pd.isna(pd.to_numeric(v, errors="coerce"))),
            "",
        )
        raise DataError(
            f"{path}: column {label!r} must be numeric for regression (it holds {example!r})"
        )
    declared = set(opts.schema)  # the schema says how to read it: no guessing, no error
    special = {label, opts.split_column}
    for column, (number, word) in mixed_columns(frame).items():
        if column not in declared and column not in special:
            raise DataError(
                f"{path}: column {column!r} mixes numbers and text (e.g. {number!r} and "
                f"{word!r}); fix the values, or declare it in --schema as numeric (text becomes "
                "missing) or categorical"
            )
    for column, kind in opts.schema.items():
        if kind == "numeric" and column in frame.columns and column != label:
            frame[column] = pd.to_numeric(frame[column], errors="coerce")
        elif kind == "categorical" and column in frame.columns and column != label:
            frame[column] = frame[column].map(lambda v: v if pd.isna(v) else str(v))
    return frame


def split_rows(frame: pd.DataFrame, path: str, opts: Options) -> tuple[np.ndarray, np.ndarray]:
    """Sorted row indices of the train and validation parts, the same on every worker.

    With --split_column its values decide; otherwise a shuffled split with a fixed seed."""
    if opts.split_column is not None:
        marks = frame[opts.split_column].astype(str).str.strip().str.lower()
        is_val = marks.isin(VALIDATION_VALUES).to_numpy()
        if is_val.all() or not is_val.any():
            raise DataError(
                f"{path}: column {opts.split_column!r} puts every row in one part; mark "
                f"validation rows with one of {sorted(VALIDATION_VALUES)} and train rows otherwise"
            )
        return np.flatnonzero(~is_val), np.flatnonzero(is_val)
    n = len(frame)
    order = np.random.default_rng(SEED).permutation(n)
    n_val = min(max(1, int(round(n * opts.validation_split))), n - 1)
    if n < 2:
        raise DataError(f"{path}: {n} labelled row; training and validation need at least two")
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def features_of(frame: pd.DataFrame, opts: Options) -> pd.DataFrame:
    """The feature columns: all but the label and the split column."""
    drop = [opts.label_column] + ([opts.split_column] if opts.split_column else [])
    return frame.drop(columns=[c for c in drop if c in frame.columns])


def numbers(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """`columns` as one float32 matrix, a row a row (C order); values that are no number become
    NaN. Columns of numpy number or bool types convert together in one block copy; only the others
    (text, pandas' nullable types) go through pd.to_numeric, one at a time."""
    out = np.empty((len(frame), len(columns)), dtype=np.float32)
    types = frame.dtypes
    plain = [isinstance(types[c], np.dtype) and types[c].kind in "biuf" for c in columns]
    if all(plain):
        out[...] = frame[columns].to_numpy(dtype=np.float32)
        return out
    where = [i for i, is_plain in enumerate(plain) if is_plain]
    if where:
        out[:, where] = frame[[columns[i] for i in where]].to_numpy(dtype=np.float32)
    for i, column in enumerate(columns):
        if not plain[i]:
            out[:, i] = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float32)
    return out


def default_data(sample: str) -> str:
    """--data's default: the Vertex AI job's AIP_TRAINING_DATA_URI, else the sample."""
    return os.environ.get("AIP_TRAINING_DATA_URI") or sample
