"""The timed exam, as the real one runs: a live countdown, flag for review, going back to change an
answer, a review screen before submitting, and the answers given so far kept on Ctrl-C.

Navigation rides on the same `Asker` as the answers: besides the question's options, the asker is
offered entries whose keys start with '@' (flag, back, review; on the review screen a question to
revisit, or submit).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from advisor.quiz.solve import Option

# session.py builds the questions (QuizQuestion) and the asker and calls run_exam: typed loosely
# here so that the package's modules import each other in one direction only.
QuizQuestion = Any
Asker = Any  # session.Asker: (message, choices, deadline, multi=False) -> key or None

FLAG = "@flag"
BACK = "@back"
REVIEW = "@review"
SUBMIT = "@submit"
SEPARATOR = "\n"  # joins the options ticked in a multiple-select answer (as solve.SEPARATOR)
GOTO = "@q"  # followed by the question's number, on the review screen
_STORY_PREVIEW = 48  # characters of a story on the review screen


def clock_text(seconds: float) -> str:
    seconds = max(0, math.ceil(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


class Countdown:
    """A prompt whose text ends with the time left, read afresh each time the prompt is drawn
    (the terminal asker redraws every second)."""

    def __init__(self, text: str, deadline: float, clock: Callable[[], float]) -> None:
        self.text = text
        self.deadline = deadline
        self.clock = clock

    def __str__(self) -> str:
        return f"{self.text} [{clock_text(self.deadline - self.clock())} left]"

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


@dataclass
class ExamState:
    """Where the candidate is: the answers picked so far and the questions flagged."""

    total: int
    picks: dict[int, Option] = field(default_factory=dict)
    flags: set[int] = field(default_factory=set)
    interrupted: bool = False
    timed_out: bool = False


def run_exam(
    questions: list[QuizQuestion],
    *,
    ask: Asker,
    view: Any,
    deadline: float,
    clock: Callable[[], float] = time.monotonic,
) -> ExamState:
    """Ask until the candidate submits or time runs out. On Ctrl-C the state so far is returned
    with `interrupted` set, so that the caller can record it before stopping."""
    state = ExamState(len(questions))
    index: int | None = 0
    try:
        while True:
            if clock() >= deadline:
                state.timed_out = True
                return state
            if index is None:
                key = ask(
                    Countdown("Review your answers, then submit", deadline, clock),
                    _review_choices(questions, state),
                    deadline,
                )
                if key is None:
                    state.timed_out = True
                    return state
                if key == SUBMIT:
                    return state
                index = int(key[len(GOTO) :]) - 1
                continue
            question = questions[index]
            view.exam_question(
                index + 1,
                len(questions),
                question,
                flagged=index in state.flags,
                picked=state.picks.get(index),
            )
            prompt = Countdown(question.prompt, deadline, clock)
            choices = _question_choices(question, index, state)
            if question.multi:
                # Tick the techniques, or tick one navigation entry alone.
                key = ask(prompt, choices, deadline, multi=True)
                ticked = key.split(SEPARATOR) if key else []
                key = next((k for k in ticked if k.startswith("@")), key)
            else:
                key = ask(prompt, choices, deadline)
            if key is None:
                state.timed_out = True
                return state
            if key == FLAG:
                state.flags ^= {index}
            elif key == BACK:
                index = max(0, index - 1)
            elif key == REVIEW:
                index = None
            else:
                state.picks[index] = question.option(key)
                index = index + 1 if index + 1 < len(questions) else None
    except KeyboardInterrupt:
        state.interrupted = True
        return state


def _question_choices(
    question: QuizQuestion, index: int, state: ExamState
) -> list[tuple[str, str]]:
    picked = state.picks.get(index)
    chosen = {picked.key} if picked is not None else set()
    if picked is not None and question.multi:
        steps = set(picked.values.get(question.list_field) or [])
        chosen = {o.key for o in question.options if o.values.get("choice") in steps}
    choices = [
        (("(your answer) " if o.key in chosen else "") + o.label, o.key) for o in question.options
    ]
    flag = "Remove the review flag" if index in state.flags else "Flag this question for review"
    choices.append((flag, FLAG))
    if index > 0:
        choices.append(("Go back to the previous question", BACK))
    choices.append(("Review all answers and submit", REVIEW))
    return choices


def _review_choices(questions: list[QuizQuestion], state: ExamState) -> list[tuple[str, str]]:
    answered = len(state.picks)
    choices = [(f"Submit the exam ({answered} of {state.total} answered)", SUBMIT)]
    for number, question in enumerate(questions, start=1):
        marks = []
        if number - 1 in state.flags:
            marks.append("flagged")
        marks.append("answered" if number - 1 in state.picks else "not answered")
        story = question.scenario.story
        preview = story if len(story) <= _STORY_PREVIEW else story[:_STORY_PREVIEW] + "..."
        choices.append((f"Question {number} ({', '.join(marks)}): {preview}", f"{GOTO}{number}"))
    return choices
