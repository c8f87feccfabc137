"""ruff and black are clean over the project, and mypy (strict) over advisor/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

BIN = Path(sys.executable).parent


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)


def test_ruff() -> None:
    result = _run(str(BIN / "ruff"), "check", "advisor", "tests", "bench")
    assert result.returncode == 0, result.stdout


def test_black() -> None:
    result = _run(str(BIN / "black"), "--check", "advisor", "tests", "bench")
    assert result.returncode == 0, result.stderr


def test_mypy() -> None:
    result = _run(str(BIN / "mypy"))
    assert result.returncode == 0, result.stdout


def test_generated_examples_are_ruff_and_black_clean() -> None:
    """Each example project as a user checks it out: its own folder is the first-party root."""
    rules = ["--select", "E,F,W,I,B,UP,SIM", "--line-length", "100", "--target-version", "py310"]
    projects = sorted((REPO / "generated_examples").glob("*/project"))
    assert len(projects) >= 7
    for project in projects:
        ruff = subprocess.run(
            [str(BIN / "ruff"), "check", "--isolated", "--no-cache", *rules, "."],
            cwd=project,
            capture_output=True,
            text=True,
        )
        assert ruff.returncode == 0, f"{project}: {ruff.stdout}"
        sources = [str(p) for p in project.rglob("*.py")]
        if sources:
            black = _run(str(BIN / "black"), "--check", "--line-length", "100", *sources)
            assert black.returncode == 0, f"{project}: {black.stderr}"
