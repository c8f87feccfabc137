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

from trainer import table
from trainer.table import DataError, read_table, source_files

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = str(ROOT / "data/images.parquet")
LABEL = "label"
IMAGE = "image"
CLASSIFICATION = True
VALIDATION_FRACTION = table.VALIDATION_SPLIT
SEED = table.SEED
__all__ = ["DataError", "read_table", "source_files"]  # the shared ones, re-exported


@dataclass
class Split:
    """Train and validation arrays in the model's input form, and how they were made."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    meta: dict[str, Any]


def require_columns(frame: pd.DataFrame, path: str, *names: str) -> None:
    table.require_columns(frame, path, list(names), "--label_column")


def shuffled_split(n: int, fraction: float = VALIDATION_FRACTION) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of the train and validation parts: the same on every worker (fixed seed)."""
    order = np.random.default_rng(SEED).permutation(n)
    n_val = max(1, int(round(n * fraction)))
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


def prepare(
    path: str = DEFAULT_DATA,
    label: str = LABEL,
    image_size: int = 64,
    opts: table.Options | None = None,
    **_: Any,
) -> Split:
    fraction = opts.validation_split if opts else VALIDATION_FRACTION
    frame = read_table(path)
    require_columns(frame, path, IMAGE, label)
    frame = frame[frame[label].notna()].reset_index(drop=True)
    classes = class_names(frame[label])
    if len(classes) < 2 or len(frame) < 10:
        raise DataError(f"{path}: need at least 10 images of at least 2 classes")
    sources = image_sources(frame, path)
    labels = encode_labels(frame[label], classes)
    train_rows, val_rows = shuffled_split(len(frame), fraction)
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
