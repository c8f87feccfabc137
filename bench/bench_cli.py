"""CLI benchmarks: whole-process wall time of `advisor recommend --json` and `advisor rules check`.

Run: `.venv/bin/python bench/bench_cli.py [--runs N]`. Prints one JSON line of figures (medians).
Targets: recommend under 0.25 s, rules check under 5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ANSWERS = REPO / "examples" / "tabular-sklearn.yml"


def wall(command: list[str], runs: int, *, cold: bool = False) -> float:
    """Median wall time of a whole process, after one warm-up run (file cache).

    `cold` gives every run an empty cache folder (XDG_CACHE_HOME): a first run after install.
    """
    subprocess.run(command, check=True, capture_output=True)
    times = []
    for _ in range(runs):
        scratch = tempfile.mkdtemp(prefix="advisor-bench-cache-") if cold else None
        env = {**os.environ, "XDG_CACHE_HOME": scratch} if scratch else None
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, env=env)
        times.append(time.perf_counter() - start)
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    advisor = [sys.executable, "-m", "advisor"]
    python_start = wall([sys.executable, "-c", "pass"], args.runs)
    recommend = wall([*advisor, "recommend", "--answers", str(ANSWERS), "--json"], args.runs)
    check_process = wall([*advisor, "rules", "check", "--json"], max(3, args.runs // 5))
    report = json.loads(
        subprocess.run(
            [*advisor, "rules", "check", "--json"], capture_output=True, text=True
        ).stdout
    )
    figures = {
        "python_startup_s": round(python_start, 3),
        "recommend_wall_s": round(recommend, 3),
        "recommend_target_s": 0.25,
        "rules_check_wall_s": round(check_process, 3),
        "rules_check_points": report["points"],
        "rules_check_cases": report["cases"],
        "rules_check_target_s": 5.0,
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
