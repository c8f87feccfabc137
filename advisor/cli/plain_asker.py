"""Asking quiz questions as plain numbered lines on stdin and stdout (`advisor quiz --plain`): for
pipes, scripts and screen readers, with no cursor movement and no redrawing."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

# Navigation entries (keys starting with '@') answer to a letter; options to their number.
NAV_LETTERS = {"@flag": "f", "@back": "b", "@review": "r", "@submit": "s", "@next": "n"}


class PlainAsker:
    """Prints the prompt and numbered choices, reads one line; None at the end of input or when
    the deadline has passed by the time the answer comes."""

    def __init__(
        self,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.clock = clock

    def __call__(
        self,
        message: Any,
        choices: list[tuple[str, str]],
        deadline: float | None,
        multi: bool = False,
    ) -> str | None:
        keys: dict[str, str] = {}
        lines = [str(message)]
        number = 0
        for label, key in choices:
            if key.startswith("@") and key in NAV_LETTERS:
                mark = NAV_LETTERS[key]
            else:
                number += 1
                mark = str(number)
            keys[mark] = key
            lines.append(f"  {mark}) {label}")
        hint = "Enter a number" if number else "Press Enter"
        if multi:
            hint = "Enter the numbers of every answer, separated by spaces"
        if len(keys) > number:
            hint += " or a letter"
        while True:
            self.stdout.write("\n".join(lines) + f"\n{hint}: ")
            self.stdout.flush()
            line = self.stdin.readline()
            if not line:
                return None
            if deadline is not None and self.clock() >= deadline:
                return None
            text = line.strip().lower()
            marks = text.replace(",", " ").split()
            if multi and marks and all(mark in keys for mark in marks):
                return "\n".join(keys[mark] for mark in marks)
            if not text and len(keys) == 1:
                return next(iter(keys.values()))
            if not text and number == 0 and keys:
                return next(iter(keys.values()))
            if text in keys:
                return keys[text]
            self.stdout.write(f"'{line.strip()}' is not one of {', '.join(keys)}.\n")
