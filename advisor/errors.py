"""Errors the CLI turns into a message and an exit code, never a traceback."""

from __future__ import annotations


class AdvisorError(Exception):
    """A problem the user can fix: bad answers, a broken rule file, a refused target folder."""

    exit_code = 2

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class BadAnswers(AdvisorError):
    """An answers file or flag that fails validation."""


class BadRuleFile(AdvisorError):
    """A rule, question or decision file that cannot be loaded."""


class TemplateBug(AdvisorError):
    """A template that rendered something broken: a fault of the tool, not of the answers.

    Exit 70 (EX_SOFTWARE) so scripts and tests tell it from bad input (exit 2).
    """

    exit_code = 70
