"""The exam flow: flag for review, going back to change an answer, the review screen, the time
limit, and Ctrl-C keeping the answers given so far (a scripted asker stands in for the terminal)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from advisor.cli.quiz_view import QuizView
from advisor.engine import default_ruleset
from advisor.paths import rules_dir
from advisor.quiz.bank import load_bank
from advisor.quiz.exam import BACK, FLAG, GOTO, REVIEW, SUBMIT
from advisor.quiz.progress import Progress
from advisor.quiz.session import QuizSettings, run_command
from tests.helpers.quiz import planned_questions


class Script:
    """An asker that answers from a list and keeps what it was shown."""

    def __init__(self, steps: list[Any]) -> None:
        self.steps = list(steps)
        self.prompts: list[str] = []
        self.choices: list[list[tuple[str, str]]] = []

    def __call__(
        self,
        message: Any,
        choices: list[tuple[str, str]],
        deadline: float | None,
        multi: bool = False,
    ) -> Any:
        self.prompts.append(str(message))
        self.choices.append(choices)
        step = self.steps.pop(0)
        if isinstance(step, BaseException):
            raise step
        return step(choices) if callable(step) else step


def _run(settings: QuizSettings, script: Script, path: Path) -> tuple[str, Progress]:
    ruleset = default_ruleset()
    bank = load_bank(rules_dir() / "scenarios", ruleset)
    out = io.StringIO()
    view = QuizView(Console(file=out, width=100), Console(file=out, width=100))
    progress = Progress.load(path)
    run_command(bank, ruleset, settings, view=view, progress=progress, ask=script)
    return out.getvalue(), progress


def test_flag_back_change_and_submit(tmp_path: Path) -> None:
    settings = QuizSettings(count=3, seed=8, exam=True)
    qs = planned_questions(settings)
    wrong = [next(o.key for o in q.options if o.key != q.correct.key) for q in qs]
    script = Script(
        [
            wrong[0],  # Q1 wrong
            FLAG,  # Q2 flagged ...
            qs[1].correct.key,  # ... then answered
            BACK,  # from Q3 back to Q2
            BACK,  # and on to Q1
            qs[0].correct.key,  # Q1 changed to right
            REVIEW,  # from Q2 to the review screen, Q3 not answered
            f"{GOTO}3",
            qs[2].correct.key,  # the last answer leads back to the review screen
            SUBMIT,
        ]
    )
    text, progress = _run(settings, script, tmp_path / "p.json")
    assert all("left]" in p for p in script.prompts)  # every prompt shows the countdown
    review_screen = script.choices[7]
    assert review_screen[0][1] == SUBMIT and "2 of 3 answered" in review_screen[0][0]
    assert "flagged, answered" in review_screen[2][0] and "not answered" in review_screen[3][0]
    assert ("Remove the review flag", FLAG) in script.choices[2]
    assert "(flagged for review)" in text and "Your answer so far" in text
    assert "Score: 3/3 (100%)" in text
    assert all(progress.cards[q.scenario.id].last_correct for q in qs)


def test_ctrl_c_keeps_the_answers_given(tmp_path: Path) -> None:
    settings = QuizSettings(count=3, seed=8, exam=True)
    qs = planned_questions(settings)
    script = Script([qs[0].correct.key, KeyboardInterrupt()])
    with pytest.raises(KeyboardInterrupt):
        _run(settings, script, tmp_path / "p.json")
    progress = Progress.load(tmp_path / "p.json")
    assert list(progress.cards) == [qs[0].scenario.id]
    assert progress.cards[qs[0].scenario.id].last_correct is True


def test_practice_pauses_after_each_explanation(tmp_path: Path) -> None:
    settings = QuizSettings(count=2, seed=3)
    qs = planned_questions(settings)
    script = Script([qs[0].correct.key, "@next", qs[1].correct.key])
    text, _ = _run(settings, script, tmp_path / "p.json")
    assert script.choices[1] == [("Next question", "@next")]
    assert text.index("Right.") < text.index("Question 2 of 2")


def test_a_set_of_steps_is_asked_as_multiple_select(tmp_path: Path) -> None:
    """Where the engine's answer is several compression steps, the learner ticks each one; the
    set ticked must be the engine's set, in any order."""
    from advisor.quiz.session import make_question
    from advisor.quiz.solve import SEPARATOR, decision_output

    ruleset = default_ruleset()
    bank = load_bank(rules_dir() / "scenarios", ruleset)
    multi = [make_question(s, bank, ruleset, 0) for s in bank.scenarios]
    multi = [q for q in multi if q.multi]
    assert len(multi) >= 4
    for question in multi:
        steps = decision_output(question.solution.rec, question.scenario.dimension)["steps"]
        assert len(steps) >= 2 and f"(Choose {len(steps)}.)" in question.prompt
        by_step = {o.values["choice"]: o.key for o in question.options}
        assert set(steps) < set(by_step)  # at least one technique that is not in the answer
        right = SEPARATOR.join(by_step[s] for s in reversed(steps))
        assert question.option(right).key == question.correct.key
        short = SEPARATOR.join(by_step[s] for s in steps[:-1])
        assert question.option(short).key != question.correct.key
    # In a run: ticking the steps scores; the feedback explains the techniques left out.
    scenario = next(q.scenario for q in multi)
    question = make_question(scenario, bank, ruleset, 0)
    steps = question.correct.values["steps"]
    keys = SEPARATOR.join(o.key for o in question.options if o.values["choice"] in steps)
    view_out = io.StringIO()
    view = QuizView(Console(file=view_out, width=100), Console(file=view_out, width=100))
    from advisor.quiz.session import run_quiz

    result = run_quiz(
        [question],
        ask=Script([keys]),
        view=view,
        progress=Progress.load(tmp_path / "p.json"),
        ruleset=ruleset,
        bank=bank,
        exam=False,
        time_limit=None,
    )
    assert result.score == 1 and "Right." in view_out.getvalue()
    assert "The other options:" in view_out.getvalue()
