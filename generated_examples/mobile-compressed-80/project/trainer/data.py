"""Reading the training data, splitting it and turning it into the model's inputs.

`--data` is a CSV or Parquet file, a folder of them or a glob, on a local disk or Cloud Storage
(gs://, read through gcsfs with the job's service account on Vertex AI and Application Default
Credentials elsewhere).
A folder of class folders (DATA/<class>/<image>), or a table with an `image` column (encoded
PNG/JPEG bytes, or a path relative to the table, absolute, or gs://) and the label column. Images
decode in the tf.data pipeline (a parallel map, AUTOTUNE).
The data flags (--label_column, --id_columns, --validation_split, --split_column, --schema) are
the project's shared ones (trainer/table.py, trainer/inputs.py).

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

from trainer import inputs, table
from trainer.table import DataError, read_table, source_files

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = str(ROOT / "data/images.parquet")
LABEL = table.LABEL_COLUMN
IMAGE = inputs.IMAGE_COLUMN
CLASSIFICATION = True
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


def class_names(labels: pd.Series) -> list[str]:
    """The classes, sorted; labels are compared as text so that 1 and "1" are one class."""
    return sorted({str(v) for v in labels})


def encode_labels(labels: pd.Series, classes: list[str]) -> np.ndarray:
    index = {name: i for i, name in enumerate(classes)}
    return np.array([index[str(v)] for v in labels], dtype=np.int32)


def prepare(
    path: str = DEFAULT_DATA,
    label: str = LABEL,
    image_size: int = 64,
    opts: table.Options | None = None,
    **_: Any,
) -> Split:
    """A folder of class folders or a table of images (trainer/inputs.py): paths or bytes."""
    opts = opts or table.Options(label_column=label)
    label = opts.label_column
    frame = inputs.read_images(path, opts)
    values = frame[IMAGE].tolist()
    encoded = all(isinstance(v, (bytes, bytearray)) for v in values)
    if not encoded and not all(isinstance(v, str) and v for v in values):
        raise DataError(f"{path}: column {IMAGE!r} must hold image bytes or image paths")
    if len(frame) < 10:
        raise DataError(f"{path}: {len(frame)} labelled images; at least 10 are needed")
    sources = np.array([bytes(v) if encoded else v for v in values], dtype=object)
    classes = class_names(frame[label])
    labels = encode_labels(frame[label], classes)
    train_rows, val_rows = table.split_rows(frame, path, opts)
    meta = {"label": label, "classes": classes, "image_size": image_size, "encoded": encoded}
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
