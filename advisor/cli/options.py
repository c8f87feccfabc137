"""Command-line options shared by several commands (standard library only: start-up speed)."""

from __future__ import annotations

import argparse
from pathlib import Path

ANSWERS_HELP = "answers file (YAML or JSON, or a project's .advisor-answers.yml)"


def add_answer_options(parser: argparse.ArgumentParser, file_help: str = ANSWERS_HELP) -> None:
    """`--answers FILE` and the repeatable `--set ID=VALUE` (the same validator reads both)."""
    parser.add_argument("--answers", type=Path, metavar="FILE", help=file_help)
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="ID=VALUE",
        help="set or override one answer (repeatable)",
    )


def example_epilog(*commands: str) -> str:
    """An epilog of real example commands (for argparse.RawDescriptionHelpFormatter)."""
    return "examples:\n" + "\n".join(f"  {command}" for command in commands)
