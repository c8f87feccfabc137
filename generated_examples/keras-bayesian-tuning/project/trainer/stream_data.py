"""A tabular table streamed in batches (trainer/stream.py) as tf.data pipelines.

`prepare()` scans the table once (row counts, classes, a training sample), fits the encoders and
the normalization statistics on the sample, and returns a StreamSplit; `make_dataset()` is a
tf.data pipeline over one part that reads, encodes and shuffles (unit order and rows within
each read) as it goes, so memory holds a few batches, never the table. The pipelines have a
known length, so the training loop counts its steps as in memory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from trainer import data, stream, table

# Rows each read is shuffled over: the batch of a read (stream.BATCH_ROWS) is the shuffle buffer.
SHUFFLE_ROWS = stream.BATCH_ROWS


@dataclass
class StreamSplit:
    """The streamed counterpart of data.Split: the source, the counts and the metadata."""

    source: stream.Source
    opts: table.Options
    rows: dict[str, int]
    meta: dict[str, Any]


def prepare(path: str, opts: table.Options) -> StreamSplit:
    source = stream.Source(path)
    scan = stream.scan(
        source, opts, classification=data.CLASSIFICATION, numeric_label=not data.CLASSIFICATION
    )
    label = opts.label_column
    sample = table.features_of(scan.sample, opts).assign(**{label: scan.sample[label]})
    meta = data.fit_preprocessing(sample, label)
    x_sample = data.transform(sample, meta)
    meta["columns"] = data.column_names(meta)
    # Normalization statistics of the input matrix, from the sample: the first layer applies them.
    meta["mean"] = x_sample.mean(axis=0).tolist()
    meta["variance"] = x_sample.var(axis=0).tolist()
    y = pd.to_numeric(sample[label], errors="coerce").to_numpy(dtype=np.float32)
    meta["target_mean"] = float(y.mean())
    meta["target_std"] = float(y.std()) or 1.0
    meta["label"] = label
    meta["streaming"] = {"rows": scan.rows}
    return StreamSplit(source, opts, scan.rows, meta)


def encode(frame: pd.DataFrame, meta: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """A batch's model inputs and targets (regression targets normalized, as in memory)."""
    x = data.transform(frame, meta)
    values = frame[meta["label"]]
    y = (values.to_numpy(dtype=np.float32) - meta["target_mean"]) / meta["target_std"]
    y = y.astype(np.float32)[:, None]
    return x, y


def make_dataset(
    split: StreamSplit,
    part: str,
    batch_size: int,
    *,
    shuffle: bool,
    drop_remainder: bool = False,
    seed: int = data.SEED,
    shard: int = 0,
    shards: int = 1,
) -> Any:
    """A batched, prefetching tf.data pipeline over one part ("train" or "validation") of this
    shard. Shuffled pipelines read the units in a new order on every pass over them."""
    import tensorflow as tf

    passes = [0]

    def batches() -> Any:
        epoch = passes[0] if shuffle else None
        passes[0] += 1
        frames = stream.parts(split.source, split.opts, part, shard, shards, epoch)
        encoded = stream.rebatch(
            frames,
            batch_size,
            lambda frame: encode(frame, split.meta),
            shuffle_seed=(seed + passes[0]) if shuffle else None,
        )
        for x, y in stream.prefetch(encoded):
            if drop_remainder and len(y) < batch_size:
                return
            yield x, y

    width = len(split.meta["columns"])
    target = tf.TensorSpec([None, 1], tf.float32)
    dataset = tf.data.Dataset.from_generator(
        batches, output_signature=(tf.TensorSpec([None, width], tf.float32), target)
    )
    if shards == 1:
        rows = split.rows[part]
        count = rows // batch_size if drop_remainder else math.ceil(rows / batch_size)
        dataset = dataset.apply(tf.data.experimental.assert_cardinality(count))
    return dataset.prefetch(tf.data.AUTOTUNE)
