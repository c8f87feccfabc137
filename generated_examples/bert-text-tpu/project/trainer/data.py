"""Reading the training data, splitting it and turning it into the model's inputs.

`--data` is a CSV or Parquet file, a folder of them or a glob, on a local disk or Cloud Storage
(gs://, read through gcsfs with the job's service account on Vertex AI and Application Default
Credentials elsewhere).
A `text` column and the label column. The vocabulary is built from the training split.
The data flags (--label_column, --id_columns, --validation_split, --split_column, --schema) are
the project's shared ones (trainer/table.py, trainer/inputs.py).

`prepare()` returns the split arrays and the preprocessing metadata (saved as
preprocessing.json beside the model); `load_arrays()` gives the arrays in the model's input form
(tests and the compression step use it); `make_dataset()` builds the tf.data pipeline.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trainer import inputs, table
from trainer.table import DataError, read_table, source_files

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = str(ROOT / "data/reviews.csv")
LABEL = table.LABEL_COLUMN
TEXT = inputs.TEXT_COLUMN
CLASSIFICATION = True
SEED = table.SEED
__all__ = ["DataError", "read_table", "source_files"]  # the shared ones, re-exported
# The standardization of keras.layers.TextVectorization ("lower_and_strip_punctuation").
STRIP_PUNCTUATION = r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']'


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


def vocabulary(texts: np.ndarray, size: int) -> list[str]:
    """The `size - 2` most frequent tokens (ties by token), after TextVectorization's own
    standardization; the padding and out-of-vocabulary ids take the other two. Counting here
    instead of `adapt()` makes the vocabulary identical on every worker."""
    import tensorflow as tf

    standardized = tf.strings.regex_replace(tf.strings.lower(texts), STRIP_PUNCTUATION, "")
    tokens = tf.strings.split(standardized).flat_values.numpy()
    counts = Counter(token.decode("utf-8") for token in tokens)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [token for token, _ in ranked[: max(size - 2, 1)]]


def make_vectorizer(meta: dict[str, Any]) -> Any:
    """Text to token ids: the same layer in training (in the input pipeline) and serving."""
    import keras

    return keras.layers.TextVectorization(
        standardize="lower_and_strip_punctuation",
        output_mode="int",
        output_sequence_length=meta["sequence_length"],
        vocabulary=meta["vocabulary"],
    )


def prepare(
    path: str = DEFAULT_DATA,
    label: str = LABEL,
    vocab_size: int = 10000,
    sequence_length: int = 64,
    opts: table.Options | None = None,
    **_: Any,
) -> Split:
    """A table of texts and their labels (trainer/inputs.py)."""
    opts = opts or table.Options(label_column=label)
    label = opts.label_column
    frame = inputs.read_texts(path, opts)
    if len(frame) < 10:
        raise DataError(f"{path}: {len(frame)} labelled texts; at least 10 are needed")
    classes = class_names(frame[label])
    texts = frame[TEXT].to_numpy(dtype=object)
    labels = encode_labels(frame[label], classes)
    train_rows, val_rows = table.split_rows(frame, path, opts)
    meta = {
        "label": label,
        "classes": classes,
        "sequence_length": sequence_length,
        "vocabulary": vocabulary(texts[train_rows], vocab_size),
    }
    vectorize = make_vectorizer(meta)
    x = vectorize(texts.astype(str)).numpy().astype(np.int32)
    return Split(x[train_rows], labels[train_rows], x[val_rows], labels[val_rows], meta)


def load_arrays(
    path: str = DEFAULT_DATA, **options: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_val, y_val) in the model's input form;
    `options` are the data flags of trainer.task (vocab_size, sequence_length)."""
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
