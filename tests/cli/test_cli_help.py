"""Snapshots of `advisor --help` and `advisor new --help` (tests/snapshots/).

A change to the CLI shows up here as a diff; when it is intended, regenerate the snapshots with
`UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/cli/test_cli_help.py` and review the diff.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
from pathlib import Path

import pytest

from tests.conftest import REPO, run_advisor

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
        (["recommend", "--help"], "advisor_recommend_help.txt"),
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


def _parsers() -> list[tuple[str, argparse.ArgumentParser]]:
    from advisor.cli import build_parser

    found = []

    def walk(parser: argparse.ArgumentParser, path: str) -> None:
        found.append((path, parser))
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, f"{path} {name}".strip())

    walk(build_parser(), "")
    return found


def _example_lines(parser: argparse.ArgumentParser) -> list[str]:
    epilog = parser.epilog or ""
    return [line.strip() for line in epilog.splitlines() if line.startswith("  advisor ")]


@pytest.mark.parametrize(("path", "parser"), _parsers(), ids=lambda v: str(v) or "advisor")
def test_every_help_ends_with_real_examples(path: str, parser: argparse.ArgumentParser) -> None:
    from advisor.cli import build_parser

    lines = _example_lines(parser)
    assert len(lines) >= 2, f"`advisor {path} --help` has no examples"
    assert parser.format_help().rstrip().endswith(parser.epilog.rstrip().splitlines()[-1])
    for line in lines:
        command = re.split(r"\s(?:[|>]|#)\s?", line.split("   ")[0])[0]
        argv = shlex.split(command)[1:]
        try:
            build_parser().parse_args(argv)
        except SystemExit as exc:
            pytest.fail(f"`{command}` does not parse (exit {exc.code})")
        for word in argv:
            if word.startswith("examples/"):
                assert (REPO / word).is_file(), word


def test_bare_advisor_prints_start_here() -> None:
    result = run_advisor(env=ENV)
    assert result.returncode == 0, result.stderr
    assert "start here:" in result.stdout
    for command in ("advisor wizard", "advisor recommend --answers examples/", "advisor quiz"):
        assert command in result.stdout
    assert len(result.stdout.splitlines()) < 15
