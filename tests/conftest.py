"""Shared fixtures."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import settings

from advisor.engine import default_ruleset
from advisor.ruleset.rules import RuleSet

# The wizard tests' `pipe` fixture (keystrokes for a prompt_toolkit input).
pytest_plugins = ["tests.helpers.wizard"]

REPO = Path(__file__).resolve().parent.parent

# Property tests: the same examples on every run (`ci`, the default), so a failure is a change
# in the code, never a lucky draw; `fuzz` (make test-fuzz) draws new random examples each run.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("fuzz", derandomize=False, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def ruleset() -> RuleSet:
    return default_ruleset()


def run_advisor(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a subprocess (as a user would)."""
    return subprocess.run(
        [sys.executable, "-m", "advisor", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        input=input,
        timeout=300,
    )


@pytest.fixture(scope="session")
def guide_headings() -> set[str]:
    """Section headings and bold labels of the source guide (kept in guide_headings.txt)."""
    text = (Path(__file__).parent / "guide_headings.txt").read_text(encoding="utf-8")
    return {line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")}
