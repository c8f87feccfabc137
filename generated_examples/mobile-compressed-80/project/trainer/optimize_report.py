"""Measuring compressed models and reporting them: size, gzip size, accuracy or loss, latency.

Framework-neutral: the optimize step of each stack measures with these helpers, so the numbers in
`compression_report.json` mean the same thing whatever produced the model.
"""

from __future__ import annotations

import gzip
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

# What the report's fields mean (written into it, so the file explains itself).
DEFINITIONS = {
    "size_cut_pct": "100 * (1 - size / reference_bytes): against the trained model saved in the "
    "same format (the baseline rows), on disk",
    "gzip_cut_pct": "the same on gzip -9 sizes: what a download costs; pruning's zeros show here",
    "degradation": "accuracy: drop in percentage points; loss (regression): increase in percent "
    "of the trained model's validation loss; negative is better",
    "latency_ms_batch": "median milliseconds for one batch of batch_size validation rows, this CPU",
    "latency_ms_single": "median milliseconds for one row: what latency_budget_ms is held to",
    "chained": "this row's model is what the next step starts from; the last one ships",
}


@dataclass(frozen=True)
class Targets:
    """What the answers asked of the compressed model (0 = no target)."""

    size_reduction_pct: float
    latency_budget_ms: float
    accuracy_drop_tolerance_pct: float
    # "disk": the file as stored; "gzip": the compressed download (pruning's gain shows there).
    size_basis: str = "disk"


@dataclass
class Row:
    """One measured model: the baseline or the output of one step (or one variant of a step)."""

    step: str
    variant: str = ""
    status: str = "ok"  # ok | skipped | failed
    reason: str = ""
    artifact: str = ""
    format: str = ""
    size_bytes: int | None = None
    gzip_bytes: int | None = None
    # The trained model in the same format, so a cut compares like with like.
    reference_bytes: int | None = None
    reference_gzip_bytes: int | None = None
    size_cut_pct: float | None = None
    gzip_cut_pct: float | None = None
    metric: str = ""
    value: float | None = None
    # Accuracy: drop in percentage points; loss: increase in percent of the baseline loss.
    degradation: float | None = None
    latency_ms_batch: float | None = None
    latency_ms_single: float | None = None
    batch_size: int | None = None
    # True for the row whose model the next step takes (and the last one ships).
    chained: bool = False
    # Wall-clock seconds of the whole step (fine-tuning, conversion and measuring).
    seconds: float | None = None
    details: dict[str, Any] = field(default_factory=dict)
    targets: dict[str, dict[str, Any]] = field(default_factory=dict)


def size_on_disk(path: str | Path) -> int:
    """Bytes of a file, or of every file under a directory."""
    path = Path(path)
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def gzip_size(path: str | Path) -> int:
    """Bytes after gzip -9: what a download of the model costs (pruned zeros compress away)."""
    path = Path(path)
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return sum(len(gzip.compress(p.read_bytes(), compresslevel=9, mtime=0)) for p in files)


def time_call(fn: Callable[[], Any], min_seconds: float = 0.2, max_repeats: int = 50) -> float:
    """Median milliseconds of `fn()` after a warm-up (first calls compile and allocate)."""
    for _ in range(3):
        fn()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < max_repeats and (
        len(times) < 5 or time.perf_counter() - start < min_seconds
    ):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(times)


def classification_accuracy(pred: np.ndarray, y: np.ndarray) -> float:
    """Accuracy of scores against labels (class ids, one-hot rows or 0/1 for one output)."""
    pred = np.asarray(pred, dtype=np.float64)
    y = np.asarray(y)
    if pred.ndim == 1 or pred.shape[-1] == 1:
        # One output: a probability (sigmoid) or a logit. 0.5 and 0.0 split the same way
        # only for probabilities, so decide by range.
        scores = pred.reshape(len(pred))
        cut = 0.5 if scores.min() >= 0.0 and scores.max() <= 1.0 else 0.0
        return float(np.mean((scores > cut).astype(np.int64) == y.reshape(len(y)).astype(np.int64)))
    labels = np.argmax(y, axis=-1) if y.ndim == pred.ndim else y.reshape(len(y))
    return float(np.mean(np.argmax(pred, axis=-1) == labels))


def mean_squared_error(pred: np.ndarray, y: np.ndarray) -> float:
    pred = np.asarray(pred, dtype=np.float64).reshape(len(y), -1)
    return float(np.mean((pred - np.asarray(y, dtype=np.float64).reshape(len(y), -1)) ** 2))


def score(pred: np.ndarray, y: np.ndarray, regression: bool) -> tuple[str, float]:
    """("loss", validation MSE) for regression, ("accuracy", fraction) otherwise."""
    if regression:
        return "loss", mean_squared_error(pred, y)
    return "accuracy", classification_accuracy(pred, y)


def _cut(size: int | None, reference: int | None) -> float | None:
    if size is None or not reference:
        return None
    return round(100.0 * (1.0 - size / reference), 2)


def timed(step: Callable[[], list[Row]]) -> list[Row]:
    """Run one step and stamp its rows with the seconds it took."""
    start = time.perf_counter()
    rows = step()
    for row in rows:
        row.seconds = round(time.perf_counter() - start, 2)
    return rows


def finish_row(row: Row, baseline: Row | None, targets: Targets) -> Row:
    """Fill the cuts, the degradation against the baseline and each target's verdict."""
    row.size_cut_pct = _cut(row.size_bytes, row.reference_bytes)
    row.gzip_cut_pct = _cut(row.gzip_bytes, row.reference_gzip_bytes)
    if baseline is not None and row.value is not None and baseline.value is not None:
        if row.metric == "accuracy":
            row.degradation = round(100.0 * (baseline.value - row.value), 2)
        elif baseline.value > 0:
            row.degradation = round(100.0 * (row.value - baseline.value) / baseline.value, 2)
    if row.status != "ok":
        return row
    cut = row.gzip_cut_pct if targets.size_basis == "gzip" else row.size_cut_pct
    checks: dict[str, tuple[float, float | None, bool | None]] = {}
    if targets.size_reduction_pct > 0:
        met = None if cut is None else cut >= targets.size_reduction_pct
        checks["size_reduction_pct"] = (targets.size_reduction_pct, cut, met)
    if targets.latency_budget_ms > 0:
        lat = row.latency_ms_single
        met = None if lat is None else lat <= targets.latency_budget_ms
        checks["latency_budget_ms"] = (targets.latency_budget_ms, lat, met)
    if row.degradation is not None:
        tol = targets.accuracy_drop_tolerance_pct
        checks["accuracy_drop_tolerance_pct"] = (tol, row.degradation, row.degradation <= tol)
    row.targets = {k: {"target": t, "value": v, "met": m} for k, (t, v, m) in checks.items()}
    return row


def within_tolerance(row: Row, targets: Targets) -> bool:
    return row.degradation is None or row.degradation <= targets.accuracy_drop_tolerance_pct


def _cut_of(row: Row, targets: Targets) -> float:
    cut = row.gzip_cut_pct if targets.size_basis == "gzip" else row.size_cut_pct
    return -1e9 if cut is None else cut


def shortfall(row: Row, targets: Targets) -> tuple[float, float]:
    """How far a row is from the targets: (points beyond the accuracy tolerance, percentage
    points of size cut missing); (0, 0) when it meets both."""
    over = max(0.0, (row.degradation or 0.0) - targets.accuracy_drop_tolerance_pct)
    short = max(0.0, targets.size_reduction_pct - _cut_of(row, targets))
    return over, short if targets.size_reduction_pct > 0 else 0.0


def preferred(ranked: list[Row], targets: Targets) -> Row:
    """Of rows in order of preference: the first that meets the size target within the accuracy
    tolerance, else the one within the tolerance with the largest cut, else the smallest loss."""
    both = [r for r in ranked if shortfall(r, targets) == (0.0, 0.0)]
    if both:
        return both[0]
    tolerated = [r for r in ranked if within_tolerance(r, targets)]
    if tolerated:
        return max(tolerated, key=lambda r: _cut_of(r, targets))
    return min(ranked, key=lambda r: r.degradation or 0.0)


def to_ship(steps: list[Row], targets: Targets) -> tuple[Row | None, Row | None]:
    """(the model to ship, the configuration that comes closest to the targets when no model
    meets them all).

    The last chained model ships when it is within the accuracy tolerance. When it is not, the
    measured model within the tolerance with the largest size cut ships instead, and when no
    model is within the tolerance, none ships: a much worse model is never the result."""
    measured = [r for r in steps if r.status == "ok" and r.format != "savedmodel"]
    chained = [r for r in steps if r.chained and r.status == "ok"]
    final = chained[-1] if chained else None
    if final is not None and shortfall(final, targets) == (0.0, 0.0):
        return final, None
    closest = min(measured, key=lambda r: shortfall(r, targets)) if measured else None
    if final is not None and within_tolerance(final, targets):
        return final, closest if closest is not final else None
    tolerated = [r for r in measured if within_tolerance(r, targets)]
    ship = max(tolerated, key=lambda r: _cut_of(r, targets)) if tolerated else None
    return ship, closest


def _closest_summary(row: Row, targets: Targets) -> dict[str, Any]:
    over, short = shortfall(row, targets)
    misses = []
    if short:
        misses.append(f"{short:.1f} points short of the {targets.size_reduction_pct:g}% size cut")
    if over:
        misses.append(
            f"{over:.2f} points beyond the {targets.accuracy_drop_tolerance_pct:g}-point "
            "accuracy tolerance"
        )
    return {
        "step": row.step,
        "variant": row.variant,
        "artifact": row.artifact,
        "size_cut_pct": row.size_cut_pct,
        "gzip_cut_pct": row.gzip_cut_pct,
        "degradation": row.degradation,
        "details": row.details,
        "verdict": "no configuration tried meets both the size target and the accuracy "
        f"tolerance; closest: {row.step} {row.variant}, " + " and ".join(misses or ["-"]),
    }


def build_report(
    meta: dict[str, Any], baseline: list[Row], steps: list[Row], targets: Targets
) -> dict[str, Any]:
    """The JSON document: what was asked, every measured row and the verdict on the shipped one."""
    final, closest = to_ship(steps, targets)
    summary: dict[str, Any] = {"artifact": None, "targets": {}, "all_targets_met": None}
    if final is not None:
        summary = {
            "step": final.step,
            "variant": final.variant,
            "artifact": final.artifact,
            "size_bytes": final.size_bytes,
            "size_cut_pct": final.size_cut_pct,
            "gzip_cut_pct": final.gzip_cut_pct,
            "metric": final.metric,
            "value": final.value,
            "degradation": final.degradation,
            "latency_ms_single": final.latency_ms_single,
            "targets": final.targets,
            "all_targets_met": all(t["met"] is not False for t in final.targets.values()),
            "chained": final.chained,
        }
    return {
        **meta,
        "definitions": DEFINITIONS,
        "targets": asdict(targets),
        "baseline": [asdict(r) for r in baseline],
        "steps": [asdict(r) for r in steps],
        "final": summary,
        # Only when no model meets every target: the one that comes closest, and by how much.
        "closest": None if closest is None else _closest_summary(closest, targets),
    }


def write_report(path: str | Path, report: dict[str, Any]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, sort_keys=False) + "\n", encoding="utf-8")


def _kb(n: int | None) -> str:
    return "-" if n is None else f"{n / 1024:.1f}"


def _num(x: float | None, fmt: str = "{:.2f}") -> str:
    return "-" if x is None else fmt.format(x)


def _verdict(row: Row, key: str) -> str:
    check = row.targets.get(key)
    if check is None or check["met"] is None:
        return "-"
    return "yes" if check["met"] else "NO"


def format_table(rows: list[Row], targets: Targets) -> str:
    """A plain-text table (no terminal styling: it also goes to logs); reasons follow as notes."""
    head = ["step", "variant", "format", "size KB", "gzip KB", "cut %", "metric", "drop"]
    head += ["ms/batch", "ms/1", "size ok", "latency ok", "accuracy ok", "step s"]
    lines = [head]
    notes = []
    for r in rows:
        step = r.step + (" *" if r.chained else "")
        if r.status != "ok":
            lines.append([step, r.variant, r.status.upper()] + ["-"] * (len(head) - 3))
            what = f"{r.step} {r.variant}".strip()
            reason = " ".join(r.reason.split())  # the report keeps it whole
            notes.append(f"{what}: {r.status}: {reason[:400]}")
            continue
        cut = r.gzip_cut_pct if targets.size_basis == "gzip" else r.size_cut_pct
        lines.append(
            [
                step,
                r.variant,
                r.format,
                _kb(r.size_bytes),
                _kb(r.gzip_bytes),
                _num(cut, "{:.1f}"),
                f"{r.metric}={_num(r.value, '{:.4f}')}",
                _num(r.degradation),
                _num(r.latency_ms_batch),
                _num(r.latency_ms_single),
                _verdict(r, "size_reduction_pct"),
                _verdict(r, "latency_budget_ms"),
                _verdict(r, "accuracy_drop_tolerance_pct"),
                _num(r.seconds, "{:.1f}"),
            ]
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = [
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines
    ]
    out.append(
        "* feeds the next step; the last one is the model to ship. cut % is on "
        + ("the gzip size" if targets.size_basis == "gzip" else "the size on disk")
        + ", against the trained model in the same format."
    )
    return "\n".join(out + notes)
