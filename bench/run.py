"""Run every benchmark under bench/ (each prints one JSON line of figures)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Scripts with more than one row: each further row is the script run again with these flags.
MORE_ROWS = {"bench_trainers_torch.py": [["--fsdp"]]}


def main() -> int:
    status = 0
    for script in sorted(HERE.glob("bench_*.py")):
        for flags in [[], *MORE_ROWS.get(script.name, [])]:
            print(f"# {' '.join([script.name, *flags])}", flush=True)
            command = [sys.executable, str(script), *flags, *sys.argv[1:]]
            status |= subprocess.run(command).returncode
    return status


if __name__ == "__main__":
    raise SystemExit(main())
