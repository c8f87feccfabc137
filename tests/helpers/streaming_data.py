"""Large synthetic Parquet tables for the streaming tests and benchmark, and peak-RSS runs.

The table is written shard by shard (never held whole): float32 features drawn from a normal
distribution, which Parquet cannot compress much (so the size on disk is the size of the data),
and a label `outcome` from a fixed linear rule plus noise, so a model has something to learn.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

LABEL = "outcome"


def write_table(
    folder: Path, target_bytes: int, *, columns: int = 50, shards: int = 8, seed: int = 7
) -> dict[str, Any]:
    """Shards part-000.parquet ... in `folder` with about `target_bytes` in all."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    weights = rng.normal(size=columns).astype(np.float32)
    rows = max(1, target_bytes // (4 * columns + 1) // shards)  # 4 bytes a feature, 1 a label
    chunk = 65_536
    names = [f"f{i:03d}" for i in range(columns)]
    for shard in range(shards):
        path = folder / f"part-{shard:03d}.parquet"
        schema = pa.schema([(n, pa.float32()) for n in names] + [(LABEL, pa.int8())])
        # Random floats do not compress: no dictionary, no codec, so writing is quick.
        with pq.ParquetWriter(path, schema, compression="none", use_dictionary=False) as out:
            for start in range(0, rows, chunk):
                n = min(chunk, rows - start)
                x = rng.standard_normal(size=(n, columns), dtype=np.float32)
                noise = 2.0 * rng.standard_normal(size=n, dtype=np.float32)
                y = ((x @ weights + noise) > 0).astype(np.int8)
                arrays = [pa.array(x[:, i]) for i in range(columns)] + [pa.array(y)]
                out.write_table(pa.Table.from_arrays(arrays, names=names + [LABEL]))
    files = sorted(folder.glob("*.parquet"))
    return {
        "rows": rows * shards,
        "columns": columns,
        "bytes": sum(f.stat().st_size for f in files),
        "glob": str(folder / "*.parquet"),
    }


# Runs the measured command as its own child and writes that child's peak RSS (KB) to argv[1].
# Linux starts an exec'd process's ru_maxrss at the high-water mark of the process it was
# spawned from, so a child of a large test process reports at least the test process's size; a
# fresh, small launcher in between makes the figure the command's own.
_LAUNCHER = """
import resource, subprocess, sys
code = subprocess.call(sys.argv[2:])
with open(sys.argv[1], "w") as out:
    out.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(code)
"""


def peak_rss_run(
    command: list[str], cwd: Path, env: dict[str, str], timeout: float = 1800
) -> dict[str, Any]:
    """Run `command` and return its exit code, output, wall seconds and peak RSS in MB.

    The peak is the largest resident set of the command and of the descendants it waited for,
    measured by a launcher process so that the test process's own size does not leak in."""
    started = time.perf_counter()
    stamp = f"{os.getpid()}-{time.monotonic_ns()}"
    log = cwd / f".run-{stamp}.log"
    peak = cwd / f".run-{stamp}.rss"
    launcher = [sys.executable, "-c", _LAUNCHER, str(peak), *command]
    with open(log, "w", encoding="utf-8") as handle:
        process = subprocess.Popen(
            launcher,
            cwd=cwd,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a timeout kills the command with its launcher
        )
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    output = log.read_text(encoding="utf-8", errors="replace")
    log.unlink()
    peak_kb = int(peak.read_text()) if peak.exists() else 0
    peak.unlink(missing_ok=True)
    return {
        "returncode": process.returncode,
        "output": output,
        "seconds": time.perf_counter() - started,
        "peak_rss_mb": peak_kb / 1024,
    }


def write_parquet_shards(folder: Path, train_rows: list[int], val_rows: int) -> str:
    """One Parquet file (one row group) per entry of train_rows, each with that many training
    rows and val_rows validation rows (column `part` says which); a feature `row_id` numbering
    the rows of all files, six more and a binary label `outcome` from a fixed linear rule.
    Returns the glob of the files."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True)
    next_id = 0
    rng = np.random.default_rng(0)
    weights = rng.normal(size=6)
    for k, n_train in enumerate(train_rows):
        x = rng.normal(size=(n_train + val_rows, 6)).astype(np.float32)
        columns = {"row_id": np.arange(next_id, next_id + len(x), dtype=np.float32)}
        columns |= {f"f{i}": x[:, i] for i in range(6)}
        next_id += len(x)
        columns["part"] = ["train"] * n_train + ["validation"] * val_rows
        columns["outcome"] = (x @ weights > 0).astype(np.int64)
        pq.write_table(pa.table(columns), folder / f"part-{k}.parquet")
    return str(folder / "*.parquet")
