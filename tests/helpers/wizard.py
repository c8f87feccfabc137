"""Drive the wizard from a pipe of keystrokes (tests/cli/test_wizard.py and the reliability
tests of saving answers). The `pipe` fixture is registered in tests/conftest.py."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output.plain_text import PlainTextOutput

from advisor.cli.wizard import TerminalUI
from advisor.ruleset.rules import RuleSet

ENTER, UP, DOWN, CLEAR, CTRL_C = "\r", "\x1b[A", "\x1b[B", "\x15", "\x03"


class Piped:
    """A TerminalUI reading keys from a pipe and writing plain text to a buffer."""

    def __init__(self, ruleset: RuleSet, pipe: Any) -> None:
        # The keys are all sent: end the input after them, so a prompt that runs out of keys
        # (a question added to questions.yaml, say) fails with EOFError instead of waiting.
        pipe.close()
        self.buffer = io.StringIO()
        self.ui = TerminalUI(ruleset.questions, input=pipe, output=PlainTextOutput(self.buffer))

    @property
    def text(self) -> str:
        return self.buffer.getvalue()


@pytest.fixture()
def pipe() -> Iterator[Any]:
    """A prompt_toolkit input that the test writes keystrokes to."""
    with create_pipe_input() as real:
        yield real
