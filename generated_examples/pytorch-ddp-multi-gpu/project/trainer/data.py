"""Input pipeline: image classification (a small CNN).

Reads CSV or Parquet from a local path or gs:// (pandas through fsspec/gcsfs). A glob such as
gs://bucket/data/train-*.csv reads every matching file, as Vertex AI managed datasets write shards.
--data may also be a folder of class folders (DATA/<class>/<image>); images decode one per item,
in the DataLoader's worker processes.
The data flags (--label_column, --id_columns, --validation_split, --split_column, --schema) are
the project's shared ones (trainer/table.py, trainer/inputs.py).
`prepare` returns the training and validation datasets plus the metadata the model is built from
(and that serving needs, saved next to the model as preprocessing.json); `load_arrays` returns the
same data as numpy arrays already in the model's input form.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import fsspec
import numpy as np
import pandas as pd
import torch
from PIL import Image
from torch.utils.data import (
    Dataset,
    DistributedSampler,
    IterableDataset,
    RandomSampler,
    Sampler,
    SequentialSampler,
)

from trainer import inputs, table
from trainer.table import DataError  # noqa: F401  (trainer.task catches data.DataError)

DEFAULT_DATA = "data/sample.csv"
TARGET = table.LABEL_COLUMN
IMAGE_COLUMN = inputs.IMAGE_COLUMN
# The shared flags' attributes keep this trainer's older names (and --target, --val_fraction work).
LEGACY_FLAGS = {"label_column": "target", "validation_split": "val_fraction"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The data flags (none of them is tuned): the project's shared ones (trainer/table.py),
    stored as `target` and `val_fraction` (--target and --val_fraction still work), then this
    family's own."""
    table.add_arguments(parser, TARGET, LEGACY_FLAGS)
    parser.add_argument("--image_size", type=int, default=32, help="images are resized to this")


def default_options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(add_help=False)
    add_arguments(parser)
    return parser.parse_args([])


def read_table(path: str) -> pd.DataFrame:
    """One DataFrame from a CSV or Parquet file, a folder of them or a glob (trainer/table.py)."""
    return table.read_table(path)


class InMemoryDataset(Dataset):
    """Tensors held in memory, indexed with a whole batch of indices at once.

    Gathering a batch with one indexing operation instead of collating single rows keeps the input
    pipeline from costing more than the model on small, fast models (see BatchIndexSampler).
    """

    batched = True

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        self.x = torch.from_numpy(np.ascontiguousarray(x))
        self.y = torch.from_numpy(np.ascontiguousarray(y))

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, index: Any) -> tuple[torch.Tensor, torch.Tensor]:
        return self.x[index], self.y[index]

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return self.x.numpy(), self.y.numpy()


def decode_image(handle: Any, size: int) -> np.ndarray:
    """Encoded image bytes as float32 CHW in [0, 1], RGB, resized to size x size; the server
    (serving/predictor.py) decodes a request's images with this same function."""
    image = Image.open(handle).convert("RGB").resize((size, size), Image.BILINEAR)
    return np.asarray(image, dtype=np.float32).transpose(2, 0, 1) / 255.0


def load_image(uri: str, size: int) -> np.ndarray:
    """An image file (local or gs://), decoded by decode_image."""
    with fsspec.open(uri, "rb") as handle:
        return decode_image(handle, size)


class ImageFiles(Dataset):
    """Decodes one image per item, so DataLoader workers decode in parallel."""

    batched = False

    def __init__(self, uris: list[str], labels: np.ndarray, size: int) -> None:
        self.uris, self.labels, self.size = uris, labels, size

    def __len__(self) -> int:
        return len(self.uris)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image = torch.from_numpy(load_image(self.uris[index], self.size))
        return image, torch.tensor(self.labels[index])

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        images = [load_image(uri, self.size) for uri in self.uris]
        shape = (0, 3, self.size, self.size)
        return (np.stack(images) if images else np.zeros(shape, np.float32)), self.labels


@dataclass
class Prepared:
    train: Dataset
    val: Dataset
    meta: dict[str, Any]
    # the validation rows' raw values as a client sends them to the server: the feature
    # columns (tabular), the image URIs or the texts
    val_features: pd.DataFrame | None = None

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        x_train, y_train = self.train.arrays()  # type: ignore[attr-defined]
        x_val, y_val = self.val.arrays()  # type: ignore[attr-defined]
        return x_train, y_train, x_val, y_val


def prepare(path: str = DEFAULT_DATA, options: argparse.Namespace | None = None) -> Prepared:
    """A folder of class folders, or a table of image paths (relative to its folder, absolute
    or gs://) and their labels (trainer/inputs.py)."""
    opts = options or default_options()
    shared = table.options(opts, LEGACY_FLAGS)
    frame = inputs.read_images(path, shared)
    if not all(isinstance(u, str) for u in frame[IMAGE_COLUMN]):
        raise DataError(f"{path}: column {IMAGE_COLUMN!r} must hold image paths")
    uris = frame[IMAGE_COLUMN].tolist()
    try:  # one image decoded now: a file that is no image stops here, not in a worker
        load_image(uris[0], opts.image_size)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: {uris[0]} is not a readable image ({exc})") from None
    classes = sorted(frame[opts.target].unique().tolist())
    index = {c: i for i, c in enumerate(classes)}
    y = frame[opts.target].map(index).to_numpy(np.int64)
    train_idx, val_idx = table.split_rows(frame, path, shared)
    meta: dict[str, Any] = {
        "family": "image",
        "target": opts.target,
        "classes": [c.item() if hasattr(c, "item") else c for c in classes],
        "num_classes": len(classes),
        "image_size": opts.image_size,
        "input": "float32 RGB images, N x 3 x H x W, values in [0, 1]",
    }
    return Prepared(
        ImageFiles([uris[i] for i in train_idx], y[train_idx], opts.image_size),
        ImageFiles([uris[i] for i in val_idx], y[val_idx], opts.image_size),
        meta,
        val_features=frame[[IMAGE_COLUMN]].iloc[val_idx].reset_index(drop=True),
    )


def load_arrays(
    path: str = DEFAULT_DATA, options: argparse.Namespace | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_val, y_val) as numpy arrays in the model's input form."""
    return prepare(path, options).arrays()


class BatchIndexSampler(Sampler):
    """Yields whole batches of indices (a tensor each) drawn from another sampler's order.

    With it the DataLoader asks an in-memory dataset for a batch in one call. The base sampler is a
    DistributedSampler under DDP, so each process still sees its own shard; set_epoch reshuffles.
    """

    def __init__(self, base: Sampler, batch_size: int, drop_last: bool = False) -> None:
        self.base, self.batch_size, self.drop_last = base, batch_size, drop_last

    def __iter__(self):  # type: ignore[no-untyped-def]
        order = torch.as_tensor(list(self.base), dtype=torch.int64)
        stop = len(order) - (len(order) % self.batch_size if self.drop_last else 0)
        for start in range(0, stop, self.batch_size):
            yield order[start : start + self.batch_size]

    def __len__(self) -> int:
        n = len(self.base)  # type: ignore[arg-type]
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def set_epoch(self, epoch: int) -> None:
        if hasattr(self.base, "set_epoch"):
            self.base.set_epoch(epoch)


def set_epoch(loader: torch.utils.data.DataLoader, epoch: int) -> None:
    """Reshuffle (differently on every epoch, identically on every process)."""
    if hasattr(loader.sampler, "set_epoch"):
        loader.sampler.set_epoch(epoch)
    elif hasattr(loader.dataset, "set_epoch"):  # a streamed table: a new order of its units
        loader.dataset.set_epoch(epoch)


class ShardSampler(Sampler[int]):
    """Rows rank, rank + world_size, ...: unpadded shards, so shard lengths may differ by one."""

    def __init__(self, size: int, rank: int, world_size: int) -> None:
        self.indices = range(rank, size, world_size)

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)


def even_batches(
    loader: torch.utils.data.DataLoader, device: torch.device
) -> Iterator[tuple[Any, bool]]:
    """(batch, counted) pairs, as many on every process as the longest shard has: a sharded
    model's forward pass all-gathers, so all processes must run as many. The extra ones repeat
    this process's first batch and are not counted. Where the loader has no length (a streamed
    table) the processes agree before each batch whether any has one left."""
    import torch.distributed as dist

    sharded = dist.is_available() and dist.is_initialized()
    try:
        batches: int | None = len(loader)
    except TypeError:
        batches = None
    if sharded and batches is not None:
        longest = torch.tensor([batches], device=device)
        dist.all_reduce(longest, op=dist.ReduceOp.MAX)
        batches = int(longest.item())
    first = None
    iterator = iter(loader)
    step = 0
    while batches is None or step < batches:
        batch = next(iterator, None)
        if batches is None and sharded:
            more = torch.tensor([batch is not None], dtype=torch.int32, device=device)
            dist.all_reduce(more, op=dist.ReduceOp.MAX)
            if not more.item():
                return
        elif batch is None and not sharded:
            return
        step += 1
        if batch is not None:
            first = first if first is not None else batch
            yield batch, True
        elif first is not None:
            yield first, False
        else:
            rank = dist.get_rank() if sharded else 0
            raise RuntimeError(
                f"process {rank} has no validation rows while others do: the sharded model "
                "needs every process in each forward pass (give the table more validation rows)"
            )


def make_loader(
    dataset: Dataset,
    batch_size: int,
    *,
    train: bool,
    rank: int = 0,
    world_size: int = 1,
    num_workers: int = 0,
    pin_memory: bool = False,
    seed: int = 0,
    uneven: bool = False,
) -> torch.utils.data.DataLoader:
    """A DataLoader that shards across processes, shuffles training data and prefetches.

    Workers stay alive between epochs (persistent_workers): no start-up cost every epoch.
    `uneven`: the caller copes with processes taking different numbers of steps (DDP's Join), so
    each process of a streamed table reads its own shard once, whatever its size.
    """
    workers = dict(
        num_workers=num_workers,
        pin_memory=pin_memory,
        persistent_workers=num_workers > 0,
        prefetch_factor=4 if num_workers > 0 else None,
    )
    if isinstance(dataset, IterableDataset):
        # A streamed table shards itself by rank and DataLoader worker, and yields whole batches.
        dataset.configure(  # type: ignore[attr-defined]
            batch_size, rank, world_size, seed, equal_steps=not uneven
        )
        workers["persistent_workers"] = False  # each epoch's workers see the new set_epoch
        return torch.utils.data.DataLoader(dataset, batch_size=None, **workers)
    base: Sampler
    size = len(dataset)  # type: ignore[arg-type]
    if world_size > 1 and not train and size >= world_size:
        # Each validation row exactly once across processes: DistributedSampler would pad the
        # shards to one length with repeated rows, and the metrics would count those twice.
        base = ShardSampler(size, rank, world_size)
    elif world_size > 1:
        base = DistributedSampler(
            dataset, num_replicas=world_size, rank=rank, shuffle=train, seed=seed, drop_last=train
        )
    elif train:
        base = RandomSampler(dataset, generator=torch.Generator().manual_seed(seed))
    else:
        base = SequentialSampler(dataset)
    # A last training batch of a few rows gives noisy steps (and BatchNorm fails on one row);
    # but a process whose shard is one short batch keeps it.
    drop_last = train and len(base) > batch_size  # type: ignore[arg-type]
    if getattr(dataset, "batched", False):
        sampler = BatchIndexSampler(base, batch_size, drop_last)
        return torch.utils.data.DataLoader(dataset, sampler=sampler, batch_size=None, **workers)
    return torch.utils.data.DataLoader(
        dataset, sampler=base, batch_size=batch_size, drop_last=drop_last, **workers
    )
