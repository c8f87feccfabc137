"""Snapshots of `advisor --help` and `advisor new --help` (tests/snapshots/).

A change to the CLI shows up here as a diff; when it is intended, regenerate the snapshots with
`UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/cli/test_cli_help.py` and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import run_advisor

SNAPSHOTS = Path(__file__).parent / "snapshots"
# argparse wraps to the terminal width: fix it so the snapshot does not depend on the terminal.
ENV = {"COLUMNS": "100", "LINES": "50"}


@pytest.mark.parametrize(
    ("args", "name"),
    [
        (["--help"], "advisor_help.txt"),
        (["new", "--help"], "advisor_new_help.txt"),
        (["wizard", "--help"], "advisor_wizard_help.txt"),
        (["update", "--help"], "advisor_update_help.txt"),
    ],
)
def test_help_matches_snapshot(args: list[str], name: str) -> None:
    result = run_advisor(*args, env=ENV)
    assert result.returncode == 0, result.stderr
    path = SNAPSHOTS / name
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        path.write_text(result.stdout, encoding="utf-8")
    expected = path.read_text(encoding="utf-8")
    assert result.stdout == expected, (
        f"`advisor {' '.join(args)}` differs from {path}; if the change is intended, run:"
        " UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/cli/test_cli_help.py"
    )
