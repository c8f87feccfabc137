"""Asking one quiz question with questionary (a prompt_toolkit select), with an optional deadline.

Tests pass prompt_toolkit pipe input and a dummy output; in a terminal both default to the tty.
"""

from __future__ import annotations

import asyncio
from typing import Any

INSTRUCTION = "(number keys or arrows, Enter to answer)"


class QuestionaryAsker:
    """Callable that asks a select question and returns the chosen key (None: time ran out)."""

    def __init__(
        self, input: Any = None, output: Any = None
    ) -> None:  # noqa: A002 - prompt_toolkit's names
        self.input = input
        self.output = output

    def __call__(
        self, message: str, choices: list[tuple[str, str]], deadline: float | None
    ) -> str | None:
        import questionary

        question = questionary.select(
            message,
            choices=[
                questionary.Choice(title=label, value=key, shortcut_key=str(index))
                for index, (label, key) in enumerate(choices, start=1)
            ],
            use_shortcuts=True,
            instruction=INSTRUCTION,
            input=self.input,
            output=self.output,
        )
        app = question.application
        if deadline is None:
            return app.run()  # type: ignore[no-any-return]

        def expire() -> None:
            if app.is_running and not app.is_done:
                app.exit(result=None)

        def arm() -> None:
            # Runs inside the application's event loop, right after it starts.
            loop = asyncio.get_running_loop()
            loop.call_at(loop.time() + max(0.0, deadline - _now()), expire)

        return app.run(pre_run=arm)  # type: ignore[no-any-return]


def _now() -> float:
    import time

    return time.monotonic()
