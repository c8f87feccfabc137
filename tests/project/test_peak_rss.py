"""The streaming tests' peak-memory probe measures the command, not the test process.

Linux starts an exec'd child's ru_maxrss at its parent's high-water mark, so a probe that read
the child's rusage straight from a large pytest process reported the same figure for every run.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.helpers.streaming_data import peak_rss_run

# Allocates argv[1] MB and touches every page, so all of it is resident.
ALLOCATE = (
    "import sys; block = bytearray(int(sys.argv[1]) * 2**20); "
    "block[::4096] = b'x' * len(block[::4096])"
)


def test_a_small_child_of_a_large_process_reports_its_own_peak(tmp_path: Path) -> None:
    ballast = bytearray(600 * 2**20)
    ballast[::4096] = b"y" * len(ballast[::4096])  # touch every page: 600 MB resident here
    small = peak_rss_run([sys.executable, "-c", ALLOCATE, "10"], tmp_path, {})
    large = peak_rss_run([sys.executable, "-c", ALLOCATE, "300"], tmp_path, {})
    del ballast
    assert small["returncode"] == large["returncode"] == 0, small["output"] + large["output"]
    assert small["peak_rss_mb"] < 200, small
    assert 300 <= large["peak_rss_mb"] < 500, large
    assert not list(tmp_path.glob(".run-*")), "the probe leaves no log or figure behind"


def test_a_failing_command_keeps_its_exit_code_and_output(tmp_path: Path) -> None:
    result = peak_rss_run(
        [sys.executable, "-c", "import sys; print('no table'); sys.exit(3)"], tmp_path, {}
    )
    assert result["returncode"] == 3
    assert "no table" in result["output"]
    assert result["peak_rss_mb"] > 0
