"""Asking one quiz question with questionary (a prompt_toolkit select), with an optional deadline.

Tests pass prompt_toolkit pipe input and a dummy output; in a terminal both default to the tty.
"""

from __future__ import annotations

import asyncio
from typing import Any

INSTRUCTION = "(number keys or arrows, Enter to answer)"
CHECKBOX_INSTRUCTION = "(arrows to move, Space to tick each answer, Enter to answer)"


_DIGITS = "123456789"
_NAV_KEYS = {"@flag": "f", "@back": "b", "@review": "r", "@submit": "s", "@next": "n"}


class QuestionaryAsker:
    """Callable that asks a select question and returns the chosen key (None: time ran out)."""

    def __init__(
        self, input: Any = None, output: Any = None
    ) -> None:  # noqa: A002 - prompt_toolkit's names
        self.input = input
        self.output = output

    def __call__(
        self,
        message: Any,
        choices: list[tuple[str, str]],
        deadline: float | None,
        multi: bool = False,
    ) -> str | None:
        import questionary

        if multi:
            return self._checkbox(questionary, message, choices, deadline)

        # Options take the digits; navigation entries (keys starting with '@') their letters.
        # A long list (the exam's review screen) is walked with the arrow keys only.
        shortcuts = len(choices) <= len(_DIGITS)
        options = [key for _, key in choices if not key.startswith("@")]
        question = questionary.select(
            message,
            choices=[
                questionary.Choice(
                    title=label,
                    value=key,
                    shortcut_key=(
                        (_NAV_KEYS.get(key) if key.startswith("@") else _DIGITS[options.index(key)])
                        if shortcuts
                        else None
                    ),
                )
                for label, key in choices
            ],
            use_shortcuts=shortcuts,
            instruction=INSTRUCTION if options else "(Enter to continue)",
            input=self.input,
            output=self.output,
        )
        return self._run(question.application, deadline)  # type: ignore[no-any-return]

    def _checkbox(
        self, questionary: Any, message: Any, choices: list[tuple[str, str]], deadline: float | None
    ) -> str | None:
        """A multiple-select question: the keys ticked, joined by a newline."""
        question = questionary.checkbox(
            message,
            choices=[questionary.Choice(title=label, value=key) for label, key in choices],
            instruction=CHECKBOX_INSTRUCTION,
            input=self.input,
            output=self.output,
        )
        ticked = self._run(question.application, deadline)
        return None if ticked is None else "\n".join(ticked)

    def _run(self, app: Any, deadline: float | None) -> Any:
        if deadline is None:
            return app.run()

        def expire() -> None:
            if app.is_running and not app.is_done:
                app.exit(result=None)

        def arm() -> None:
            # Runs inside the application's event loop, right after it starts.
            loop = asyncio.get_running_loop()
            loop.call_at(loop.time() + max(0.0, deadline - _now()), expire)

        app.refresh_interval = 1.0  # redraw every second: the prompt shows the time left
        return app.run(pre_run=arm)


def _now() -> float:
    import time

    return time.monotonic()
