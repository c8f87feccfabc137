"""The shared data flags (trainer/table.py) for inputs that are not one row of features.

Image, text and time-series trainers read their data through these functions, so --label_column,
--id_columns, --validation_split, --split_column and --schema mean what they mean for a table,
with the same checks and the same exit code 2:

  images       a folder of class folders (DATA/<class>/<image>.png|jpg|...), or a CSV/Parquet
               table whose `image` column holds paths (relative to the table's folder, absolute
               or gs://) or encoded bytes, and the label column
  texts        a CSV/Parquet table with a `text` column and the label column
  time series  a CSV/Parquet table of time steps with the (numeric) label column; validation is
               the last --validation_split of the steps, or the last rows --split_column marks
"""

from __future__ import annotations

import posixpath
from typing import Any

import numpy as np
import pandas as pd

from trainer import table
from trainer.table import DataError, Options

IMAGE_COLUMN = "image"
TEXT_COLUMN = "text"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp")


def _names(columns: Any) -> str:
    return ", ".join(repr(str(c)) for c in columns) or "none"


def image_folder(path: str, label: str) -> pd.DataFrame | None:
    """A folder of class folders as a table of full image paths (`image`) and their class
    (`label`, the folder's name); None when `path` is not a folder or holds tables."""
    import fsspec

    if any(mark in path for mark in "*?["):
        return None
    try:
        fs, _, found = fsspec.get_fs_token_paths(path)
        root = found[0] if found else ""
        if not root or not fs.isdir(root):
            return None
        files = sorted(fs.find(root))
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot be read ({exc})") from None
    if any(name.endswith(table.TABLE_SUFFIXES) for name in files):
        return None  # a folder of tables: trainer/table.py reads it
    images = [name for name in files if name.lower().endswith(IMAGE_SUFFIXES)]
    if not images:
        kinds = ", ".join(IMAGE_SUFFIXES)
        raise DataError(
            f"{path}: the folder holds no CSV or Parquet table and no images ({kinds}) in class "
            f"folders ({path}/<class>/<image>)"
        )
    records = []
    for name in images:
        parts = posixpath.relpath(name, root.rstrip("/")).split("/")
        if len(parts) < 2:
            raise DataError(
                f"{path}: image {parts[0]!r} is not in a class folder; put each image in the "
                f"folder of its class ({path}/<class>/{parts[0]})"
            )
        uri = fs.unstrip_protocol(name) if "://" in path else name
        records.append({IMAGE_COLUMN: uri, label: parts[0]})
    return pd.DataFrame(records)


def read_images(path: str, opts: Options) -> pd.DataFrame:
    """The checked table of images and labels behind --data (see the module docstring): image
    paths made absolute, rows without an image or a label dropped, ID and ignored columns left
    out."""
    frame = image_folder(path, opts.label_column)
    if frame is None:
        frame = table.read_table(path)
        require_column(frame, path, IMAGE_COLUMN, "paths (or encoded bytes) of images")
        frame = frame[frame[IMAGE_COLUMN].notna()].reset_index(drop=True)
        base = posixpath.dirname(table.source_files(path)[0])
        frame[IMAGE_COLUMN] = [
            v if isinstance(v, (bytes, bytearray)) else absolute(str(v), base)
            for v in frame[IMAGE_COLUMN]
        ]
    frame = checked(frame, path, opts, IMAGE_COLUMN)
    check_image_files(frame[IMAGE_COLUMN].tolist(), path)
    return frame


def absolute(uri: str, base: str) -> str:
    """An image path of a table, relative to the table's folder unless absolute or a URI."""
    return uri if "://" in uri or uri.startswith("/") else posixpath.join(base, uri)


def check_image_files(sources: list[Any], path: str) -> None:
    """DataError naming the first image path that does not exist: every local one is checked,
    and the first remote one (a request per file would cost more than it saves)."""
    import os

    import fsspec

    uris = [s for s in sources if isinstance(s, str)]
    local = [u for u in uris if "://" not in u]
    remote = [u for u in uris if "://" in u][:1]
    missing = next((u for u in local if not os.path.isfile(u)), None)
    if missing is None and remote:
        fs, _, _ = fsspec.get_fs_token_paths(remote[0])
        missing = None if fs.exists(remote[0]) else remote[0]
    if missing is not None:
        raise DataError(
            f"{path}: column {IMAGE_COLUMN!r} names {missing}, which does not exist (relative "
            "paths are taken from the folder of the table)"
        )


def read_texts(path: str, opts: Options) -> pd.DataFrame:
    """The checked table of texts and labels behind --data: rows without a label dropped, a
    missing text read as empty, ID and ignored columns left out."""
    frame = table.read_table(path)
    require_column(frame, path, TEXT_COLUMN, "texts")
    frame = checked(frame, path, opts, TEXT_COLUMN)
    frame[TEXT_COLUMN] = frame[TEXT_COLUMN].fillna("").astype(str)
    return frame


def require_column(frame: pd.DataFrame, path: str, column: str, holds: str) -> None:
    if column not in frame.columns:
        raise DataError(
            f"{path}: no column {column!r} (the columns are: {_names(frame.columns)}); name the "
            f"column of {holds} {column!r}"
        )


def checked(frame: pd.DataFrame, path: str, opts: Options, column: str) -> pd.DataFrame:
    """table.check_table for a classification table whose `column` is the input."""
    if column == opts.label_column or column in opts.id_columns:
        raise DataError(f"{path}: column {column!r} is the input; it cannot be the label or an ID")
    if opts.schema.get(column) == "ignore":
        raise DataError(f"{path}: the --schema ignores column {column!r}, the input")
    # The input is read as it is: a text that happens to be a number is still a text.
    schema = {**opts.schema, column: opts.schema.get(column, "categorical")}
    encoded = None
    if len(frame) and isinstance(frame[column].iloc[0], (bytes, bytearray)):
        # encoded images: the checks see a row number instead (bytes are not text)
        encoded = frame[column].tolist()
        frame = frame.assign(**{column: [str(i) for i in range(len(frame))]})
    opts = Options(
        label_column=opts.label_column,
        id_columns=opts.id_columns,
        validation_split=opts.validation_split,
        split_column=opts.split_column,
        schema=schema,
    )
    frame = table.check_table(frame, path, opts, classification=True, numeric_label=False)
    if encoded is not None:
        frame[column] = [encoded[int(i)] for i in frame[column]]
    return frame


def read_series(path: str, opts: Options) -> pd.DataFrame:
    """The checked table of a time series (rows in file order; the caller sorts by time): the
    label numeric, ID and ignored columns left out, --schema applied. Steps without a value are
    kept (the trainer fills them from their neighbours)."""
    frame = table.read_table(path)
    # The shared checks (columns, labels, mixed types) on the steps that have a value.
    table.check_table(frame, path, opts, classification=False, numeric_label=True)
    label = opts.label_column
    drop = list(opts.id_columns) + [c for c, kind in opts.schema.items() if kind == "ignore"]
    frame = frame.drop(columns=[c for c in dict.fromkeys(drop) if c != label])
    for column, kind in opts.schema.items():
        if kind == "numeric" and column in frame.columns:
            frame[column] = pd.to_numeric(frame[column], errors="coerce")
    return frame


def series_split(frame: pd.DataFrame, path: str, opts: Options) -> int:
    """The first validation step of a series in time order: the first row --split_column marks
    (every later row must be marked too: validation follows training in time), else the start
    of the last --validation_split of the steps."""
    if opts.split_column is None:
        return int(len(frame) * (1 - opts.validation_split))
    marks = frame[opts.split_column].astype(str).str.strip().str.lower()
    is_val = marks.isin(table.VALIDATION_VALUES).to_numpy()
    if is_val.all() or not is_val.any():
        raise DataError(
            f"{path}: column {opts.split_column!r} puts every row in one part; mark validation "
            f"rows with one of {sorted(table.VALIDATION_VALUES)} and train rows otherwise"
        )
    start = int(np.argmax(is_val))
    if not is_val[start:].all():
        raise DataError(
            f"{path}: column {opts.split_column!r} marks validation rows followed by training "
            "rows; in a time series the validation rows are the last ones in time order"
        )
    return start
