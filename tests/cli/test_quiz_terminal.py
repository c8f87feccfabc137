"""`advisor quiz` in a real terminal (pexpect): questions asked, answers typed, score read."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pexpect

from advisor.quiz.session import QuizSettings
from tests.conftest import REPO
from tests.helpers.quiz import planned_questions

PROMPT = "Enter to answer"


def _spawn(args: list[str], data_home: Path) -> pexpect.spawn:
    env = {
        **os.environ,
        "XDG_DATA_HOME": str(data_home),
        "TERM": "xterm-256color",
        # Wide enough that no question line wraps: a wrap can split the prompt text we wait for.
        "COLUMNS": "240",
        "LINES": "40",
        # No terminal answers cursor-position requests here; do not wait for one.
        "PROMPT_TOOLKIT_NO_CPR": "1",
    }
    return pexpect.spawn(
        sys.executable,
        ["-m", "advisor", *args],
        cwd=str(REPO),
        env=env,
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 240),
    )


def _answer(child: pexpect.spawn, position: int) -> None:
    child.expect(PROMPT)
    child.send(str(position))  # questionary's shortcut moves the pointer; Enter confirms
    child.send("\r")


def test_full_quiz_in_a_terminal(tmp_path: Path) -> None:
    questions = planned_questions(QuizSettings(count=3, seed=1))
    child = _spawn(["quiz", "--count", "3", "--seed", "1"], tmp_path)
    for index, question in enumerate(questions):
        keys = [o.key for o in question.options]
        right = index != 1  # answer the second one wrong
        target = (
            question.correct.key if right else next(k for k in keys if k != question.correct.key)
        )
        _answer(child, keys.index(target) + 1)
        child.expect("Right." if right else "Wrong.")
        child.expect("Why: ")
        if index < len(questions) - 1:
            child.expect_exact(
                "n) Next question"
            )  # the explanation stays until the learner goes on
            child.send("\r")
    child.expect(r"Score: (\d+)/(\d+) \((\d+)%\)")
    assert child.match.groups() == ("2", "3", "67")
    child.expect("By topic")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    saved = json.loads((tmp_path / "advisor" / "quiz_progress.json").read_text())
    assert saved["session"] == 1 and len(saved["scenarios"]) == 3


def test_exam_in_a_terminal(tmp_path: Path) -> None:
    questions = planned_questions(QuizSettings(count=2, seed=5, exam=True))
    child = _spawn(["quiz", "--exam", "--count", "2", "--seed", "5"], tmp_path)
    child.expect(r"Time limit 4:48")
    for question in questions:
        child.expect(r"Question \d of 2")
        keys = [o.key for o in question.options]
        _answer(child, keys.index(question.correct.key) + 1)
    child.expect("Submit the exam")
    child.send("\r")
    child.expect("Review")
    before = child.before
    assert not re.search(r"Right\.|Wrong\.|Why:", before)  # no feedback during the exam
    child.expect(r"Score: 2/2 \(100%\)")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_ctrl_c_keeps_answers_given_so_far(tmp_path: Path) -> None:
    questions = planned_questions(QuizSettings(count=3, seed=1))
    child = _spawn(["quiz", "--count", "3", "--seed", "1"], tmp_path)
    keys = [o.key for o in questions[0].options]
    _answer(child, keys.index(questions[0].correct.key) + 1)
    child.expect_exact("n) Next question")
    child.sendcontrol("c")
    child.expect("interrupted")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    assert "Traceback" not in (child.before or "")
    saved = json.loads((tmp_path / "advisor" / "quiz_progress.json").read_text())
    assert list(saved["scenarios"]) == [questions[0].scenario.id]


def _left(child: pexpect.spawn) -> int:
    """Seconds left, as the prompt's countdown shows them now."""
    child.expect(r"\[(\d+):(\d\d) left\]")
    minutes, seconds = child.match.groups()
    return int(minutes) * 60 + int(seconds)


def test_exam_countdown_flag_back_and_ctrl_c(tmp_path: Path) -> None:
    questions = planned_questions(QuizSettings(count=3, seed=5, exam=True))
    child = _spawn(["quiz", "--exam", "--count", "3", "--seed", "5"], tmp_path)
    child.expect(r"Question 1 of 3(\x1b\[0m)?\r\n")  # no topic in the header
    first = _left(child)
    # The prompt is redrawn every second while it waits: the seconds digit is repainted.
    child.expect(r"\x1b\[[0-9;]*m\d\x1b\[", timeout=5)
    child.expect(r"\x1b\[[0-9;]*m\d\x1b\[", timeout=5)
    child.send("f")  # flag the first question
    child.send("\r")
    child.expect(r"Question 1 of 3\S* \S*\(flagged for review\)")
    keys = [o.key for o in questions[0].options]
    _answer(child, keys.index(questions[0].correct.key) + 1)
    child.expect("Question 2 of 3")
    assert _left(child) < first  # drawn afresh: the time left has gone down
    child.expect(PROMPT)
    child.send("b")  # back to the first question, whose answer is shown
    child.send("\r")
    child.expect("Question 1 of 3")
    child.expect("Your answer so far")
    child.expect(PROMPT)
    child.sendcontrol("c")
    child.expect("1 of 3 questions answered, 1 right")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    saved = json.loads((tmp_path / "advisor" / "quiz_progress.json").read_text())
    assert list(saved["scenarios"]) == [questions[0].scenario.id]
