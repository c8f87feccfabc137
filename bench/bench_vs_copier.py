"""advisor against copier: whole-process wall time, medians, as ratios measured in one run.

Run: `.venv/bin/python bench/bench_vs_copier.py [--runs N]`. copier is installed into a throwaway
venv (bench/.venv-copier) on first use. Targets: `advisor recommend` <= 0.35x `copier --help`,
`advisor new` <= 1.5x `copier --help` (medians of repeated runs, so advisor's caches are warm as
on any run after the first; the first-run figures with empty caches are printed too).
Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

from bench_cli import wall

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
COPIER_VENV = HERE / ".venv-copier"
ANSWERS = REPO / "examples" / "tabular-sklearn.yml"


def copier() -> Path:
    binary = COPIER_VENV / "bin" / "copier"
    if not binary.exists():
        venv.create(COPIER_VENV, with_pip=True)
        subprocess.run([str(COPIER_VENV / "bin" / "pip"), "install", "-q", "copier"], check=True)
    return binary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=11)
    args = parser.parse_args()
    advisor = [sys.executable, "-m", "advisor"]
    copier_help = wall([str(copier()), "--help"], args.runs)
    recommend = wall([*advisor, "recommend", "--answers", str(ANSWERS), "--json"], args.runs)
    recommend_cold = wall(
        [*advisor, "recommend", "--answers", str(ANSWERS), "--json"], args.runs, cold=True
    )
    scratch = Path(tempfile.mkdtemp(prefix="advisor-bench-"))
    try:
        new_command = [*advisor, "new", "--answers", str(ANSWERS)]
        new_command += ["--output", str(scratch / "project"), "--force"]
        new = wall(new_command, args.runs)
        new_cold = wall(new_command, args.runs, cold=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(
        json.dumps(
            {
                "copier_help_s": round(copier_help, 3),
                "recommend_s": round(recommend, 3),
                "new_s": round(new, 3),
                "recommend_ratio": round(recommend / copier_help, 2),
                "recommend_target": 0.35,
                "new_ratio": round(new / copier_help, 2),
                # first run after install (no caches yet): not the targets, shown for honesty
                "recommend_cold_s": round(recommend_cold, 3),
                "new_cold_s": round(new_cold, 3),
                "new_cold_ratio": round(new_cold / copier_help, 2),
                "new_target": 1.5,
            }
        )
    )


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main()
