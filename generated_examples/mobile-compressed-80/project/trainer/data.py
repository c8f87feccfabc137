"""Reading the training data, splitting it and turning it into the model's inputs.

`--data` is a CSV or Parquet file, a folder of them or a glob, on a local disk or Cloud Storage
(gs://, read through gcsfs with the job's service account on Vertex AI and Application Default
Credentials elsewhere).
Two columns: `image` (encoded PNG/JPEG bytes, or a path relative to the table, absolute, or
gs://) and `label`.

`prepare()` returns the split arrays and the preprocessing metadata (saved as
preprocessing.json beside the model); `load_arrays()` gives the arrays in the model's input form
(tests and the compression step use it); `make_dataset()` builds the tf.data pipeline.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = str(ROOT / "data/images.parquet")
LABEL = "label"
IMAGE = "image"
CLASSIFICATION = True
VALIDATION_FRACTION = 0.2
SEED = 42
TABLE_SUFFIXES = (".csv", ".parquet", ".pq")


class DataError(Exception):
    """Unusable input data: the trainer reports it with exit code 2 and no traceback."""


@dataclass
class Split:
    """Train and validation arrays in the model's input form, and how they were made."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    meta: dict[str, Any]


def source_files(path: str) -> list[str]:
    """The table files behind `path`: the file itself, every table of a folder, or a glob."""
    import fsspec

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
    """Every table behind `path`, concatenated (Parquet by extension, CSV otherwise)."""
    import fsspec

    frames = []
    for name in source_files(path):
        try:
            with fsspec.open(name, "rb") as handle:
                if name.endswith((".parquet", ".pq")):
                    frames.append(pd.read_parquet(handle))
                else:
                    frames.append(pd.read_csv(handle))
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            raise DataError(f"{name}: not a readable CSV or Parquet table ({exc})") from None
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    if frame.empty:
        raise DataError(f"{path}: the table has no rows")
    return frame


def require_columns(frame: pd.DataFrame, path: str, *names: str) -> None:
    missing = [name for name in names if name not in frame.columns]
    if missing:
        columns = ", ".join(repr(str(c)) for c in frame.columns)
        raise DataError(
            f"{path}: no column {missing[0]!r} (the columns are: {columns}); "
            "rename a column, or name the label column with --label_column"
        )


def shuffled_split(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of the train and validation parts: the same on every worker (fixed seed)."""
    order = np.random.default_rng(SEED).permutation(n)
    n_val = max(1, int(round(n * VALIDATION_FRACTION)))
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def class_names(labels: pd.Series) -> list[str]:
    """The classes, sorted; labels are compared as text so that 1 and "1" are one class."""
    return sorted({str(v) for v in labels})


def encode_labels(labels: pd.Series, classes: list[str]) -> np.ndarray:
    index = {name: i for i, name in enumerate(classes)}
    return np.array([index[str(v)] for v in labels], dtype=np.int32)


def image_sources(frame: pd.DataFrame, path: str) -> np.ndarray:
    """The `image` column as encoded bytes, or as full paths (relative ones are taken from
    the folder of the table)."""
    values = frame[IMAGE].tolist()
    if all(isinstance(v, (bytes, bytearray)) for v in values):
        return np.array([bytes(v) for v in values], dtype=object)
    if not all(isinstance(v, str) and v for v in values):
        raise DataError(f"{path}: column {IMAGE!r} must hold image bytes or image paths")
    base = posixpath.dirname(source_files(path)[0])
    return np.array(
        [v if "://" in v or v.startswith("/") else posixpath.join(base, v) for v in values],
        dtype=object,
    )


def prepare(path: str = DEFAULT_DATA, label: str = LABEL, image_size: int = 64, **_: Any) -> Split:
    frame = read_table(path)
    require_columns(frame, path, IMAGE, label)
    frame = frame[frame[label].notna()].reset_index(drop=True)
    classes = class_names(frame[label])
    if len(classes) < 2 or len(frame) < 10:
        raise DataError(f"{path}: need at least 10 images of at least 2 classes")
    sources = image_sources(frame, path)
    labels = encode_labels(frame[label], classes)
    train_rows, val_rows = shuffled_split(len(frame))
    meta = {
        "label": label,
        "classes": classes,
        "image_size": image_size,
        "encoded": isinstance(sources[0], bytes),
    }
    return Split(sources[train_rows], labels[train_rows], sources[val_rows], labels[val_rows], meta)


def decode_image(source: Any, image_size: int, encoded: bool) -> Any:
    """Encoded bytes (or a file read through TensorFlow's file system, gs:// included) to a
    float32 image of image_size x image_size x 3 with values in 0..255."""
    import tensorflow as tf

    payload = source if encoded else tf.io.read_file(source)
    image = tf.io.decode_image(payload, channels=3, expand_animations=False)
    image = tf.image.resize(image, [image_size, image_size])
    return tf.ensure_shape(image, [image_size, image_size, 3])


def decode_all(sources: np.ndarray, meta: dict[str, Any]) -> np.ndarray:
    import tensorflow as tf

    size, encoded = meta["image_size"], meta["encoded"]
    dataset = tf.data.Dataset.from_tensor_slices(sources.astype(bytes) if encoded else sources)
    dataset = dataset.map(lambda s: decode_image(s, size, encoded)).batch(256)
    batches = [batch.numpy() for batch in dataset]
    return np.concatenate(batches) if batches else np.zeros((0, size, size, 3), np.float32)


def load_arrays(
    path: str = DEFAULT_DATA, **options: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_val, y_val) in the model's input form (decoded images);
    `options` are the data flags of trainer.task (image_size)."""
    split = prepare(path, **options)
    return (
        decode_all(split.x_train, split.meta),
        split.y_train,
        decode_all(split.x_val, split.meta),
        split.y_val,
    )


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

    sources = x.astype(bytes) if meta["encoded"] else x
    dataset = tf.data.Dataset.from_tensor_slices((sources, y))
    if shuffle:
        # A fixed seed gives every worker the same order, which sharding relies on.
        dataset = dataset.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    size, encoded = meta["image_size"], meta["encoded"]
    dataset = dataset.map(
        lambda s, label: (decode_image(s, size, encoded), label),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    return dataset.prefetch(tf.data.AUTOTUNE)
