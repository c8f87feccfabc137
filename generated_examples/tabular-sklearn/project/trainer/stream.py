"""Streaming a table that need not fit in memory: batches, the streamed split, the size check.

`--streaming auto` (the default) streams when the table would take more than half of this
machine's memory once loaded (the advisor's sizing counts a loaded table as twice its size on
disk); `--streaming on` or `off` force it. The source is the same --data as in memory: CSV or
Parquet files (a file, folder or glob; local or gs://), read with pyarrow datasets one batch at a
time, or bq://project.dataset.table, read as Arrow batches from the BigQuery Storage Read API.

The streamed split cannot shuffle row numbers of a table it never holds, so a row validates when
a hash of its values falls in the first --validation_split of the hash range (the same rows on
every worker, every epoch and every read order, which BigQuery's streams do not keep); with
--split_column that column decides, as in memory. Encoders (categories, fill values, scaling)
are fitted on the first SAMPLE_ROWS training rows; the classes come from a pass over the labels.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from trainer import bigquery, table
from trainer.table import DataError

CHOICES = ("auto", "on", "off")
# A loaded table takes about twice its size on disk (rules/catalogue/sizing.yaml, table_ram_factor).
TABLE_RAM_FACTOR = 2.0
# In memory only while the loaded table leaves half of the machine to the model and the copies.
MEMORY_SHARE = 0.5
# Rows read at a time: memory in use is a few batches (STREAM_BATCH_ROWS trades it for speed).
# 65,536 rows of 50 float32 features are 13 MB; fewer, larger batches cost less per row (every
# batch is a call into XGBoost or a round of the threads that read ahead).
BATCH_ROWS = int(os.environ.get("STREAM_BATCH_ROWS") or 65_536)
SAMPLE_ROWS = 50_000
HASH_BUCKETS = 1 << 20
# The validation masks of the batches read so far (a bit a row) may take this share of memory.
MASK_CACHE_SHARE = 0.01
Key = tuple[int, int]  # a file batch: (unit, batch in the unit)


def add_argument(parser: Any) -> None:
    parser.add_argument(
        "--streaming",
        choices=CHOICES,
        default="auto",
        help="read the table in batches instead of loading it whole; auto: when it would take "
        "more than half of this machine's memory (default: %(default)s)",
    )


def machine_memory() -> int:
    """Bytes of memory this process may plan for: STREAM_MEMORY_BYTES when set (a share of a
    machine other jobs use too), else the container's limit (cgroup), else the RAM."""
    if os.environ.get("STREAM_MEMORY_BYTES"):
        return int(os.environ["STREAM_MEMORY_BYTES"])
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(path, encoding="ascii") as limit:
                text = limit.read().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < 1 << 60:
            return int(text)
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def source_bytes(path: str) -> int:
    """Bytes of the table: its files' sizes, or BigQuery's estimate of the bytes a read scans."""
    if bigquery.is_bigquery(path):
        try:
            _, session = bigquery.open_session(path, streams=1)
        except bigquery.BigQueryError as exc:
            raise DataError(str(exc)) from None
        return int(session.estimated_total_bytes_scanned or 0)
    import fsspec

    fs = fsspec.core.url_to_fs(path)[0]
    return int(sum(fs.size(name) or 0 for name in table.source_files(path)))


def wanted(mode: str, path: str) -> tuple[bool, str]:
    """Whether to stream, and why (the trainer logs it)."""
    if mode in ("on", "off"):
        return mode == "on", f"--streaming {mode}"
    need = source_bytes(path) * TABLE_RAM_FACTOR
    have = machine_memory()
    reason = (
        f"the loaded table needs about {need / 1e9:.2f} GB; this machine has {have / 1e9:.2f} GB"
    )
    return need > have * MEMORY_SHARE, reason


def validation_mask(frame: pd.DataFrame, opts: table.Options) -> np.ndarray:
    """True for the rows of a batch that validate (the split column, else the row's hash)."""
    if opts.split_column is not None:
        marks = frame[opts.split_column].astype(str).str.strip().str.lower()
        return marks.isin(table.VALIDATION_VALUES).to_numpy()
    hashes = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return (hashes % HASH_BUCKETS) < opts.validation_split * HASH_BUCKETS


def clean(frame: pd.DataFrame, opts: table.Options) -> pd.DataFrame:
    """A batch as check_table leaves the whole table: ID and ignored columns out, labelled rows
    only, --schema columns read as declared."""
    label = opts.label_column
    drop = list(opts.id_columns) + [c for c, kind in opts.schema.items() if kind == "ignore"]
    frame = frame.drop(columns=[c for c in dict.fromkeys(drop) if c in frame and c != label])
    frame = frame[frame[label].notna()]
    for column, kind in opts.schema.items():
        if column in frame.columns and column != label and kind != "ignore":
            if kind == "numeric":
                frame[column] = pd.to_numeric(frame[column], errors="coerce")
            else:
                frame[column] = frame[column].map(lambda v: v if pd.isna(v) else str(v))
    return frame


class Source:
    """The table behind --data as units read one after another (Parquet row groups, CSV files,
    BigQuery streams), each a series of batches of at most BATCH_ROWS rows."""

    def __init__(self, path: str, batch_rows: int = BATCH_ROWS) -> None:
        self.path, self.batch_rows = path, batch_rows
        self._units: list[Any] | None = None
        self._bq: tuple[Any, Any] | None = None
        # Each batch's validation mask, packed to bits, by (unit, batch in unit): hashing every
        # row costs more than reading it, and the table is read again every epoch (XGBoost
        # reads it several times to build its matrices). At most MASK_CACHE_SHARE of memory.
        self._masks: dict[Key, np.ndarray] = {}
        self._masks_of = ""  # the data options the masks were made with
        self._mask_rows_left = 0

    def units(self) -> list[Any]:
        if self._units is None:
            self._units = (
                self._bigquery_units() if bigquery.is_bigquery(self.path) else self._file_units()
            )
        return self._units

    def _bigquery_units(self) -> list[Any]:
        try:
            # As many streams as the server offers: workers and DataLoader processes share them.
            self._bq = bigquery.open_session(self.path, streams=0)
        except bigquery.BigQueryError as exc:
            raise DataError(str(exc)) from None
        return [stream.name for stream in self._bq[1].streams]

    def _file_units(self) -> list[Any]:
        import fsspec
        import pyarrow.dataset as ds
        from pyarrow.fs import FSSpecHandler, PyFileSystem

        files = table.source_files(self.path)
        fs = fsspec.core.url_to_fs(files[0])[0]
        filesystem = (
            None if fs.protocol in ("file", ("file", "local")) else PyFileSystem(FSSpecHandler(fs))
        )
        names = files if filesystem is None else [fs._strip_protocol(f) for f in files]
        units: list[Any] = []
        try:
            for name in names:
                if name.endswith((".parquet", ".pq")):
                    fragment = next(
                        ds.dataset(name, format="parquet", filesystem=filesystem).get_fragments()
                    )
                    units += fragment.split_by_row_group()
                else:
                    units += list(
                        ds.dataset(name, format="csv", filesystem=filesystem).get_fragments()
                    )
        except (OSError, ValueError) as exc:
            raise DataError(f"{self.path}: not a readable CSV or Parquet table ({exc})") from None
        return units

    def arrow_batches(self, unit: Any) -> Iterator[Any]:
        """The batches of one unit as Arrow record batches."""
        try:
            if self._bq is not None:
                client, session = self._bq
                for batch in bigquery.stream_batches(client, session, unit):
                    for start in range(0, batch.num_rows, self.batch_rows):
                        part = batch.slice(start, self.batch_rows)
                        if part.num_rows:
                            yield part
            else:
                # No read-ahead: the default reads 16 batches ahead, which is memory, not speed,
                # once prefetch() overlaps reading with training. No thread pool either: one
                # batch is too little work to share out, and decodes twice as fast without.
                batches = unit.to_batches(
                    batch_size=self.batch_rows,
                    batch_readahead=0,
                    fragment_readahead=0,
                    use_threads=False,
                )
                for batch in batches:
                    if batch.num_rows:
                        yield batch
        except (OSError, ValueError) as exc:
            raise DataError(f"{self.path}: a batch cannot be read ({exc})") from None

    def read(self, unit: Any) -> Iterator[pd.DataFrame]:
        """The batches of one unit as pandas frames (string column names)."""
        for batch in self.arrow_batches(unit):
            yield self.frame(batch)

    def frame(self, batch: Any) -> pd.DataFrame:
        """An Arrow batch as a pandas frame with string column names (renamed only when needed:
        renaming copies the frame)."""
        try:
            frame = batch.to_pandas()
        except (OSError, ValueError) as exc:
            raise DataError(f"{self.path}: a batch cannot be read ({exc})") from None
        if not all(isinstance(name, str) for name in frame.columns):
            frame = frame.rename(columns=str)
        return frame

    def validation_mask(
        self, key: Key | None, frame: pd.DataFrame, opts: table.Options
    ) -> np.ndarray:
        """validation_mask(frame, opts) of the batch `key` names, hashed on its first read only
        (key None: a BigQuery batch, whose rows need not come in the same order again)."""
        cached = self.cached_mask(key, opts, len(frame))
        if cached is not None:
            return cached
        mask = validation_mask(frame, opts)
        if key is not None and self._mask_rows_left >= len(mask):
            self._masks[key] = np.packbits(mask)
            self._mask_rows_left -= len(mask)
        return mask

    def cached_mask(self, key: Key | None, opts: table.Options, rows: int) -> np.ndarray | None:
        """The validation mask of the batch `key` names (of its `rows` labelled rows), if cached."""
        if repr(opts) != self._masks_of:  # masks made with other data options
            self._masks, self._masks_of = {}, repr(opts)
            self._mask_rows_left = int(machine_memory() * MASK_CACHE_SHARE) * 8
        packed = self._masks.get(key) if key is not None else None
        return None if packed is None else np.unpackbits(packed, count=rows).view(bool)

    def batches(
        self, shard: int = 0, shards: int = 1, epoch: int | None = None, seed: int = table.SEED
    ) -> Iterator[pd.DataFrame]:
        """This shard's batches; `epoch` shuffles the order of the units (the same on every
        shard, so the shards stay disjoint). With fewer units than shards, every shard reads
        every unit and keeps every shards-th batch."""
        for _, frame in self.keyed_batches(shard, shards, epoch, seed):
            yield frame

    def keyed_batches(
        self,
        shard: int = 0,
        shards: int = 1,
        epoch: int | None = None,
        seed: int = table.SEED,
        arrow: bool = False,
        only: list[int] | None = None,
    ) -> Iterator[tuple[Key | None, Any]]:
        """batches(), each with its key: (unit, batch in the unit), None for BigQuery; `arrow`:
        Arrow record batches instead of pandas frames; `only`: the batches of these units, in
        this order, instead of a shard's."""
        units = list(self.units())
        if only is not None:  # these units, in this order (a Span's)
            order, shard, shards = np.asarray(only, dtype=int), 0, 1
        else:
            order = unit_order(len(units), epoch, seed)
        mine = len(units) >= shards  # whole units: order[shard::shards]; else every shards-th batch
        count = 0
        for i in order[shard::shards] if mine else order:
            for number, batch in enumerate(self.arrow_batches(units[i])):
                if mine or count % shards == shard:
                    key = None if self._bq is not None else (int(i), number)
                    yield key, batch if arrow else self.frame(batch)
                count += 1


def unit_order(units: int, epoch: int | None, seed: int = table.SEED) -> np.ndarray:
    """The order the units are read in: the table's, or shuffled for a training epoch (the same
    on every shard)."""
    if epoch is None:
        return np.arange(units)
    return np.random.default_rng(seed + epoch).permutation(units)


@dataclass
class Span:
    """One shard's equal share of a part's rows: the units that hold them in reading order, how
    many of the part's rows in those units to skip first, and how many to take."""

    units: list[int]
    skip: int
    rows: int


def span(
    unit_rows: list[int], shard: int, shards: int, epoch: int | None, seed: int = table.SEED
) -> Span:
    """Shard `shard` of `shards` takes rows [shard * n / shards, (shard + 1) * n / shards) of a
    part in the epoch's unit order (`unit_rows`: the part's rows in each unit, n in all): the
    shards' rows are disjoint, cover the part, and differ in number by one at most. Only the
    units at a share's two ends are read by two shards, each keeping its own rows of them."""
    total = sum(unit_rows)
    start, stop = shard * total // shards, (shard + 1) * total // shards
    units: list[int] = []
    skip = offset = 0
    for i in unit_order(len(unit_rows), epoch, seed):
        rows = unit_rows[i]
        if rows and offset < stop and offset + rows > start:
            if not units:
                skip = start - offset
            units.append(int(i))
        offset += rows
    return Span(units, skip, stop - start)


def take(pairs: Iterator[tuple[Any, Any]], skip: int, rows: int) -> Iterator[tuple[Any, Any]]:
    """Rows [skip, skip + rows) of a series of (x, y) batches, cut at the ends."""
    seen = 0
    for x, y in pairs:
        n = len(y)
        lo, hi = max(skip - seen, 0), min(skip + rows - seen, n)
        seen += n
        if hi > lo:
            yield (x, y) if (lo, hi) == (0, n) else (x[lo:hi], y[lo:hi])
        if seen >= skip + rows:
            return


@dataclass
class Scan:
    """What one pass over the table learns: row counts, the classes, and a training sample."""

    sample: pd.DataFrame
    rows: dict[str, int]
    classes: list[Any] = field(default_factory=list)  # as the table holds them, sorted as text
    columns: list[str] = field(default_factory=list)
    # Rows of each part in each unit, in the table's order (None for BigQuery, whose streams
    # need not hold the same rows in another read session): what span() shares out.
    unit_rows: dict[str, list[int]] | None = None

    def unit_rows_of(self, part: str) -> list[int] | None:
        return None if self.unit_rows is None else self.unit_rows[part]


def scan(source: Source, opts: table.Options, *, classification: bool, numeric_label: bool) -> Scan:
    """Counts the train and validation rows, collects the classes, keeps the first SAMPLE_ROWS
    training rows, and checks the table as check_table does in memory (on the sample)."""
    label = opts.label_column
    rows = {"train": 0, "validation": 0}
    classes: dict[str, Any] = {}
    sample: list[pd.DataFrame] = []
    kept = 0
    columns: list[str] = []
    unit_rows: dict[str, list[int]] | None = {"train": [], "validation": []}
    for key, raw in source.keyed_batches():
        if not columns:
            columns = [str(c) for c in raw.columns]
            # The same checks as in memory, on the first batch: columns, schema, types.
            table.check_table(
                raw, source.path, opts, classification=False, numeric_label=numeric_label
            )
        frame = clean(raw, opts)
        is_val = source.validation_mask(key, frame, opts)
        rows["validation"] += int(is_val.sum())
        rows["train"] += int((~is_val).sum())
        if key is None:
            unit_rows = None
        elif unit_rows is not None:
            for part, count in (("train", (~is_val).sum()), ("validation", is_val.sum())):
                counts = unit_rows[part]
                counts += [0] * (key[0] + 1 - len(counts))
                counts[key[0]] += int(count)
        if classification:
            for value in frame[label].unique().tolist():
                classes.setdefault(str(value), value)
        if kept < SAMPLE_ROWS:
            part = frame[~is_val].head(SAMPLE_ROWS - kept)
            sample.append(part)
            kept += len(part)
    if not columns:
        raise DataError(f"{source.path}: the table has no rows")
    if rows["train"] == 0 or rows["validation"] == 0:
        raise DataError(
            f"{source.path}: the streamed split puts every row in one part "
            f"({rows['train']} train, {rows['validation']} validation); pass --split_column or "
            "another --validation_split"
        )
    if classification and len(classes) < 2:
        raise DataError(
            f"{source.path}: column {label!r} has one class ({next(iter(classes), '')!r}); "
            "classification needs at least two"
        )
    frame = pd.concat(sample, ignore_index=True)
    present = {c: kind for c, kind in opts.schema.items() if c in frame.columns}
    checked = table.Options(label, [], opts.validation_split, opts.split_column, present)
    frame = table.check_table(
        frame, source.path, checked, classification=False, numeric_label=numeric_label
    )
    for counts in (unit_rows or {}).values():  # units with no rows at the end
        counts += [0] * (len(source.units()) - len(counts))
    return Scan(frame, rows, [classes[k] for k in sorted(classes)], columns, unit_rows)


def parts(
    source: Source,
    opts: table.Options,
    part: str,
    shard: int = 0,
    shards: int = 1,
    epoch: int | None = None,
    only: list[int] | None = None,
) -> Iterator[pd.DataFrame]:
    """The cleaned batches of one part ("train" or "validation") of this shard (or of the units
    `only` names, in that order)."""
    for key, raw in source.keyed_batches(shard, shards, epoch, only=only):
        frame = clean(raw, opts)
        is_val = source.validation_mask(key, frame, opts)
        keep = frame[is_val if part == "validation" else ~is_val]
        if len(keep):
            yield keep


def numeric_parts(
    source: Source,
    opts: table.Options,
    part: str,
    columns: list[str],
    shard: int = 0,
    shards: int = 1,
    epoch: int | None = None,
    only: list[int] | None = None,
) -> Iterator[tuple[np.ndarray, pd.Series]]:
    """parts() as (features, labels) for features that are all numeric: `columns` as a float32
    matrix (missing values NaN, as table.numbers makes it) and the label column.

    A batch whose validation mask is cached (scan() caches them) goes from Arrow to the matrix
    directly: no pandas frame, whose memory, allocated and freed again every batch, costs more
    than the reading. The matrix is column-major, Arrow's columns copied as they are (a
    transposition costs more than the copy; XGBoost and torch take either order). Other batches
    (columns that are no Arrow numbers, masks not cached) go through parts()'s frames."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def number(kind: Any) -> bool:  # types that to_tensor converts as numpy would
        return pa.types.is_integer(kind) or pa.types.is_float32(kind) or pa.types.is_float64(kind)

    label = opts.label_column
    for key, batch in source.keyed_batches(shard, shards, epoch, arrow=True, only=only):
        types = {field.name: field.type for field in batch.schema}
        labelled = pc.invert(pc.is_null(batch.column(label), nan_is_null=True))
        labelled = labelled.to_numpy(zero_copy_only=False)  # the rows clean() keeps
        mask = None
        if all(c in types and number(types[c]) for c in columns):
            mask = source.cached_mask(key, opts, int(labelled.sum()))
        if mask is None:  # as parts() does it (and the mask is cached for the next pass)
            frame = clean(source.frame(batch), opts)
            is_val = source.validation_mask(key, frame, opts)
            keep = frame[is_val if part == "validation" else ~is_val]
            if len(keep):
                yield table.numbers(keep, columns), keep[label]
            continue
        keep = labelled.copy()
        keep[labelled] = mask if part == "validation" else ~mask
        if keep.any():
            taken = batch.select([*columns, label]).filter(pa.array(keep))
            matrix = taken.select(columns).to_tensor(null_to_nan=True, row_major=False)
            yield matrix.to_numpy().astype(np.float32, copy=False), taken.column(label).to_pandas()


def label_codes(values: pd.Series, index: dict[str, int]) -> np.ndarray:
    """Each label's number in `index`, labels compared as text (1 and "1" are one class).
    Only the distinct labels of the batch become text, not every row; a label that `index` does
    not hold raises KeyError. The labels are never missing here (clean() drops those rows)."""
    codes, distinct = pd.factorize(values)
    return np.array([index[str(v)] for v in distinct], dtype=np.int64)[codes]


def prefetch(items: Iterator[Any], depth: int = 2) -> Iterator[Any]:
    """Items produced by a background thread, `depth` ahead: reading and decoding the next
    batches (pyarrow and numpy release the GIL) overlaps with training on this one. A consumer
    that stops early (closing this generator) stops the thread, which would otherwise wait for
    room in the buffer forever, holding its batches."""
    done = object()
    buffer: queue.Queue[Any] = queue.Queue(depth)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                buffer.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            put(exc)
        put(done)

    threading.Thread(target=produce, daemon=True).start()
    try:
        while (item := buffer.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()


def rebatch(
    frames: Iterator[Any],
    size: int,
    encode: Callable[[Any], tuple[np.ndarray, np.ndarray]],
    *,
    shuffle_seed: int | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(x, y) batches of exactly `size` rows (the last may be smaller) from encoded frames;
    with `shuffle_seed` each frame's rows are shuffled first. Each batch is gathered from its
    frame (one copy of each row at most; a batch within one unshuffled frame is a view of it),
    and only a batch that spans two frames joins pieces."""
    rng = np.random.default_rng(shuffle_seed) if shuffle_seed is not None else None
    pieces_x: list[np.ndarray] = []
    pieces_y: list[np.ndarray] = []
    count = 0
    for frame in frames:
        x, y = encode(frame)
        order = rng.permutation(len(y)) if rng is not None else None
        start = 0
        while start < len(y):
            stop = min(start + size - count, len(y))
            rows = slice(start, stop) if order is None else order[start:stop]
            pieces_x.append(x[rows])
            pieces_y.append(y[rows])
            count += stop - start
            start = stop
            if count == size:
                yield _joined(pieces_x), _joined(pieces_y)
                pieces_x, pieces_y, count = [], [], 0
    if count:
        yield _joined(pieces_x), _joined(pieces_y)


def _joined(pieces: list[np.ndarray]) -> np.ndarray:
    return pieces[0] if len(pieces) == 1 else np.concatenate(pieces)
