"""Interrupting `advisor new` (SIGINT, SIGTERM) at any moment leaves no half-written project:
the target is either absent or complete, and no temporary folder stays behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO

ANSWERS = REPO / "examples" / "tabular-sklearn.yml"


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def complete(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    target = tmp_path_factory.mktemp("reference") / "project"
    command = [sys.executable, "-m", "advisor", "new", "--answers", str(ANSWERS)]
    subprocess.run([*command, "--output", str(target)], check=True, capture_output=True)
    return _files(target)


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("delay", [0.3, 0.8, 1.3, 2.0])
def test_an_interrupted_new_leaves_nothing_half_written(
    signum: int, delay: float, complete: set[str], tmp_path: Path
) -> None:
    target = tmp_path / "project"
    command = [sys.executable, "-m", "advisor", "new", "--answers", str(ANSWERS)]
    process = subprocess.Popen(
        [*command, "--output", str(target)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    time.sleep(delay)
    if process.poll() is None:
        process.send_signal(signum)
    _, err = process.communicate(timeout=120)
    assert b"Traceback" not in err
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "project"]
    assert leftovers == [], leftovers
    if target.exists():
        assert _files(target) == complete
    else:
        assert process.returncode in (130, 128 + signal.SIGTERM, -signum), process.returncode
    assert os.listdir(tmp_path) in ([], ["project"])
