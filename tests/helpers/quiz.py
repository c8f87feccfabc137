"""Running the quiz as the CLI does, with seeded settings and keys piped into the prompts."""

from __future__ import annotations

import io
from pathlib import Path

from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from rich.console import Console

from advisor.cli.prompts import QuestionaryAsker
from advisor.cli.quiz_view import QuizView
from advisor.engine import default_ruleset
from advisor.paths import rules_dir
from advisor.quiz.bank import load_bank
from advisor.quiz.progress import Progress
from advisor.quiz.session import (
    QuizQuestion,
    QuizSettings,
    choose_scenarios,
    make_question,
    run_command,
)


def planned_questions(
    settings: QuizSettings, progress: Progress | None = None
) -> list[QuizQuestion]:
    """The questions `advisor quiz` asks for seeded settings (the same code path the CLI runs)."""
    ruleset = default_ruleset()
    bank = load_bank(rules_dir() / "scenarios", ruleset)
    assert settings.seed is not None
    progress = progress or Progress(Path("/nonexistent/progress.json"))
    scenarios = choose_scenarios(bank, progress, settings, settings.seed)
    return [make_question(s, bank, ruleset, settings.seed) for s in scenarios]


def keys_for(questions: list[QuizQuestion], right: list[bool], exam: bool = False) -> str:
    """The keystrokes that answer each question right (or with its first wrong option).

    Practice mode pauses after each explanation but the last (Enter goes on); the exam ends on
    its review screen, where Enter submits (the first entry)."""
    answers = []
    for question, good in zip(questions, right, strict=True):
        if question.multi:
            # A checkbox: Space ticks the option under the cursor, the down arrow moves on.
            steps = set(question.correct.values.get(question.list_field) or [])
            ticks = "".join(
                (" " if good and o.values["choice"] in steps else "") + "\x1b[B"
                for o in question.options
            )
            answers.append(ticks + "\r")
            continue
        keys_ = [o.key for o in question.options]
        target = (
            question.correct.key if good else next(k for k in keys_ if k != question.correct.key)
        )
        answers.append(f"{keys_.index(target) + 1}\r")
    return "".join(answers) + "\r" if exam else "\r".join(answers)


def run_piped(
    settings: QuizSettings,
    keys: str,
    progress_path: Path,
    width: int = 120,
    debug: bool = False,
) -> tuple[str, Progress]:
    """Run the quiz with keys piped into prompt_toolkit; return the printed text and progress."""
    ruleset = default_ruleset()
    bank = load_bank(rules_dir() / "scenarios", ruleset)
    out = io.StringIO()
    view = QuizView(Console(file=out, width=width), Console(file=out, width=width), debug=debug)
    progress = Progress.load(progress_path)
    with create_pipe_input() as pipe:
        pipe.send_text(keys)
        asker = QuestionaryAsker(input=pipe, output=DummyOutput())
        code = run_command(bank, ruleset, settings, view=view, progress=progress, ask=asker)
    assert code == 0
    return out.getvalue(), progress
