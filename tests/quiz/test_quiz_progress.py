"""Quiz progress: the Leitner schedule, review mode, statistics, and a corrupted file set aside."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from advisor.engine import default_ruleset
from advisor.paths import rules_dir
from advisor.quiz.bank import load_bank
from advisor.quiz.progress import Progress, data_dir, interval
from advisor.quiz.session import QuizSettings, choose_scenarios, topic_stats
from tests.conftest import run_advisor
from tests.helpers.quiz import keys_for, planned_questions, run_piped


def test_leitner_boxes() -> None:
    progress = Progress(Path("unused.json"), session=1)
    card = progress.record("a", correct=True)
    assert (card.box, card.due) == (2, 1 + interval(2))
    progress.session = 3
    card = progress.record("a", correct=True)
    assert (card.box, card.due) == (3, 3 + 4)
    card = progress.record("a", correct=False)
    assert (card.box, card.due, card.seen, card.correct) == (1, 4, 3, 2)
    for _ in range(10):
        card = progress.record("a", correct=True)
    assert card.box == 5  # the top box


def test_missed_scenarios_come_back_sooner() -> None:
    bank = load_bank(rules_dir() / "scenarios", default_ruleset())
    ids = [s.id for s in bank.scenarios]
    progress = Progress(Path("unused.json"), session=1)
    progress.record(ids[0], correct=False)
    progress.record(ids[1], correct=True)
    settings = QuizSettings(count=len(ids))
    order = [s.id for s in choose_scenarios(bank, progress, settings, seed=5)]
    # Next quiz: the missed one first, the known one after every unseen scenario.
    assert order[0] == ids[0]
    assert order[-1] == ids[1]
    # Two quizzes later the known one is due again, but still after the missed one.
    progress.session = 2
    order = [s.id for s in choose_scenarios(bank, progress, settings, seed=5)]
    assert order[:2] == [ids[0], ids[1]]


def test_review_practises_only_the_missed(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    settings = QuizSettings(count=3, seed=21)
    questions = planned_questions(settings)
    run_piped(settings, keys_for(questions, [False, True, False]), path)
    missed = {questions[0].scenario.id, questions[2].scenario.id}
    review = QuizSettings(count=50, seed=2, review=True)
    progress = Progress.load(path)
    chosen = planned_questions(review, progress)
    assert {q.scenario.id for q in chosen} == missed
    text, progress = run_piped(review, keys_for(chosen, [True, True]), path)
    assert text.startswith("Review: 2 questions")
    assert "Score: 2/2 (100%)" in text
    assert progress.missed() == []
    text, _ = run_piped(review, "", path)
    assert "Nothing to review" in text


def test_stats_by_topic(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    settings = QuizSettings(count=4, seed=9)
    questions = planned_questions(settings)
    run_piped(settings, keys_for(questions, [True, False, True, True]), path)
    bank = load_bank(rules_dir() / "scenarios", default_ruleset())
    rows = topic_stats(bank, Progress.load(path))
    total = rows[-1]
    assert total["topic"] is None and total["scenarios"] == len(bank.scenarios)
    assert (total["seen"], total["answers"], total["correct"], total["missed"]) == (4, 4, 3, 1)
    assert total["due"] == 1  # the missed one, at the next quiz
    for row in rows[:-1]:
        asked = [q for q in questions if row["topic"] in q.scenario.topics]
        assert row["seen"] == len(asked)


def test_stats_command_json(tmp_path: Path) -> None:
    env = {"XDG_DATA_HOME": str(tmp_path)}
    settings = QuizSettings(count=2, seed=9)
    run_piped(
        settings,
        keys_for(planned_questions(settings), [True, True]),
        tmp_path / "advisor" / "quiz_progress.json",
    )
    result = run_advisor("quiz", "--stats", "--json", env=env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["session"] == 1
    assert data["topics"][-1]["correct"] == 2
    table = run_advisor("quiz", "--stats", env=env)
    assert "Quiz progress (1 quiz session)" in table.stdout


def test_data_dir_follows_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert data_dir() == tmp_path / "advisor"
    monkeypatch.setenv("XDG_DATA_HOME", "relative/path")  # not absolute: ignored, as XDG says
    monkeypatch.setenv("HOME", str(tmp_path))
    assert data_dir() == tmp_path / ".local" / "share" / "advisor"


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        '["a list"]',
        '{"version": 1, "session": 2, "scenarios": {"x": {"box": 9}}}',
        '{"version": 1, "session": "two", "scenarios": {}}',
    ],
)
def test_corrupted_progress_is_set_aside(tmp_path: Path, content: str) -> None:
    path = tmp_path / "quiz_progress.json"
    path.write_text(content, encoding="utf-8")
    progress = Progress.load(path)
    assert progress.notice is not None and "moved to" in progress.notice
    assert progress.cards == {} and progress.session == 0
    kept = list(tmp_path.glob("quiz_progress.json.corrupt-*"))
    assert len(kept) == 1 and kept[0].read_text(encoding="utf-8") == content  # never lost
    assert str(kept[0]) in progress.notice
    progress.record("a", correct=True)
    assert progress.save() is None
    assert Progress.load(path).cards["a"].box == 2


def test_corrupted_progress_through_the_command(tmp_path: Path) -> None:
    folder = tmp_path / "advisor"
    folder.mkdir()
    (folder / "quiz_progress.json").write_text("\x00garbage", encoding="utf-8")
    result = run_advisor("quiz", "--stats", env={"XDG_DATA_HOME": str(tmp_path)})
    assert result.returncode == 0
    assert "warning" in result.stderr and "corrupted" in result.stderr
    assert "Traceback" not in result.stderr
    moved = list(folder.glob("quiz_progress.json.corrupt-*"))
    assert len(moved) == 1 and moved[0].read_text(encoding="utf-8") == "\x00garbage"
    # A quiz over a corrupted file starts afresh and saves a good one.
    (folder / "quiz_progress.json").write_text("[]", encoding="utf-8")
    settings = QuizSettings(count=1, seed=1)
    text, progress = run_piped(
        settings, keys_for(planned_questions(settings), [True]), folder / "quiz_progress.json"
    )
    assert "Score: 1/1" in text
    assert len(list(folder.glob("quiz_progress.json.corrupt-*"))) == 2
    assert json.loads((folder / "quiz_progress.json").read_text())["session"] == 1
