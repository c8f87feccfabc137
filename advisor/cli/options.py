"""Command-line options shared by several commands (standard library only: start-up speed)."""

from __future__ import annotations

import argparse
from pathlib import Path

# An argparse action's attribute naming what shell completion offers for its value:
# file, dir, answers (ID=VALUE words), rules (rule ids), decisions, questions (answer ids).
COMPLETE = "advisor_complete"

ANSWERS_HELP = "answers file (YAML or JSON, or a project's .advisor-answers.yml)"


def add_answer_options(parser: argparse.ArgumentParser, file_help: str = ANSWERS_HELP) -> None:
    """`--answers FILE` and the repeatable `--set ID=VALUE` (the same validator reads both)."""
    parser.add_argument("--answers", type=Path, metavar="FILE", help=file_help)
    overrides = parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="ID=VALUE",
        help="set or override one answer (repeatable)",
    )
    completes(overrides, "answers")


def completes(action: argparse.Action, kind: str) -> argparse.Action:
    """Mark what shell completion offers for `action`'s value (see COMPLETE)."""
    setattr(action, COMPLETE, kind)
    return action


def example_epilog(*commands: str) -> str:
    """An epilog of real example commands (for argparse.RawDescriptionHelpFormatter)."""
    return "examples:\n" + "\n".join(f"  {command}" for command in commands)


class HelpFormatter(argparse.HelpFormatter):
    """Descriptions wrap to the terminal; text with line breaks of its own (the examples of an
    epilog) is printed as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n" in text:
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)
