"""The quiz: options and explanations from the engine, seeded runs, practice and exam flows with
answers piped through prompt_toolkit, and the command line."""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from advisor.paths import rules_dir
from advisor.quiz.bank import TIP_KEY, Bank, load_bank
from advisor.quiz.session import (
    QuizSettings,
)
from advisor.quiz.solve import MAX_OPTIONS, build_options, decision_output, project, solve, why_not
from advisor.ruleset.rules import RuleSet
from tests.conftest import REPO, run_advisor
from tests.helpers.quiz import keys_for, planned_questions, run_piped


@pytest.fixture(scope="module")
def bank(ruleset: RuleSet) -> Bank:
    return load_bank(rules_dir() / "scenarios", ruleset)


# --- options and explanations --------------------------------------------------------------------


def test_every_question_offers_the_engines_answer_among_plausible_options(
    bank: Bank, ruleset: RuleSet
) -> None:
    for scenario in bank.scenarios:
        solution = solve(scenario, ruleset)
        options, correct = build_options(solution, bank, ruleset, random.Random(0))
        assert 3 <= len(options) <= MAX_OPTIONS, scenario.id
        assert correct in options
        assert len({o.label for o in options}) == len(options), scenario.id
        output = decision_output(solution.rec, scenario.dimension)
        if TIP_KEY in scenario.expected:
            applies = {item["id"] for item in output}
            assert correct.values[TIP_KEY] in applies
            # Only one option applies: every distractor is a tip the engine does not give here.
            assert all(o.values[TIP_KEY] not in applies for o in options if o is not correct)
            continue
        expected_keys = list(scenario.expected)
        assert project(correct.values, expected_keys) == project(output, expected_keys)
        for option in options:
            if option is not correct:
                assert project(option.values, expected_keys) != solution.answer, scenario.id


def test_every_scenario_offers_the_full_set_of_distinct_options(
    bank: Bank, ruleset: RuleSet
) -> None:
    """MAX_OPTIONS options for every question of the bank: the engine's answer and distractors
    that differ in what they say, each given by a rule that explains why it loses here."""
    short: dict[str, list[str]] = {}
    for scenario in bank.scenarios:
        solution = solve(scenario, ruleset)
        options, correct = build_options(solution, bank, ruleset, random.Random(0))
        if len(options) != MAX_OPTIONS:
            short[scenario.id] = [o.label for o in options]
            continue
        assert len({o.key for o in options}) == MAX_OPTIONS, scenario.id
        assert len({o.label for o in options}) == MAX_OPTIONS, scenario.id
        for option in options:
            if option is correct:
                continue
            assert option.rules, (scenario.id, option.label)
            lines = why_not(option, solution, ruleset)
            assert lines and "No rule recommends it" not in lines[0], (scenario.id, option.label)
    assert not short, f"fewer than {MAX_OPTIONS} options: {short}"


def test_computed_answers_look_two_facts_away_when_one_is_not_enough(
    bank: Bank, ruleset: RuleSet
) -> None:
    # The export format is computed from two answers; one change alone never gives tf-js.
    solution = solve(bank.by_id["automl-edge-tpu-export"], ruleset)
    options, correct = build_options(solution, bank, ruleset, random.Random(0))
    assert correct.values["export_format"] == "edgetpu-tflite"
    by_format = {o.values["export_format"]: o for o in options}
    assert {"tflite", "tf-js"} <= set(by_format)
    lost = why_not(by_format["tf-js"], solution, ruleset)[-1]
    assert lost.startswith("It would be the answer with deployment_target = browser (here edge)")
    assert " and inference_hardware = " in lost and "(here edge_tpu)" in lost
    # The budget is the request, clamped: without a request the rule's own default is offered.
    solution = solve(bank.by_id["automl-tabular-over-limit"], ruleset)
    options, _ = build_options(solution, bank, ruleset, random.Random(0))
    baseline = next(o for o in options if o.values["budget_milli_node_hours"] == 1000)
    assert why_not(baseline, solution, ruleset)[-1] == (
        "It would be the answer with automl_budget_request = 0 (here 100,000)."
    )


def test_distractors_come_from_rules_that_nearly_won(bank: Bank, ruleset: RuleSet) -> None:
    solution = solve(bank.by_id["hardware-bert-large-tpu"], ruleset)
    options, correct = build_options(solution, bank, ruleset, random.Random(0))
    choices = {o.values["choice"] for o in options}
    # multi_gpu: HW-MULTI-GPU-MEDIUM matched but lost; tpu_pod: one fact (size) away.
    assert {"tpu", "multi_gpu", "tpu_pod"} <= choices
    assert correct.values["choice"] == "tpu"
    assert "not_applicable" not in choices


def test_why_a_wrong_pick_loses(bank: Bank, ruleset: RuleSet) -> None:
    solution = solve(bank.by_id["hardware-bert-large-tpu"], ruleset)
    options, _ = build_options(solution, bank, ruleset, random.Random(0))
    by_choice = {o.values["choice"]: o for o in options}
    lost = " ".join(why_not(by_choice["multi_gpu"], solution, ruleset))
    assert "HW-MULTI-GPU-MEDIUM" in lost and "also matches here" in lost
    assert "HW-TPU-TF-MATRIX comes first (priority 50 vs 60" in lost
    unmatched = " ".join(why_not(by_choice["tpu_pod"], solution, ruleset))
    assert "HW-TPU-POD" in unmatched
    assert "model_parameters > 1,000,000,000 (here 340,000,000)" in unmatched


def test_automl_options_differ_in_the_field_asked(bank: Bank, ruleset: RuleSet) -> None:
    solution = solve(bank.by_id["automl-tabular-over-limit"], ruleset)
    options, correct = build_options(solution, bank, ruleset, random.Random(0))
    assert correct.values["budget_milli_node_hours"] == 72000
    assert "72,000 milli node hours" in correct.label  # the story's wording, the engine's figure
    budgets = {o.values["budget_milli_node_hours"] for o in options}
    assert 100000 in budgets  # what the guide's range suggests
    assert all(o.values["budget_milli_node_hours"] != 72000 for o in options if o is not correct)


# --- seeds ---------------------------------------------------------------------------------------


def test_same_seed_same_quiz() -> None:
    first = planned_questions(QuizSettings(count=5, seed=11))
    again = planned_questions(QuizSettings(count=5, seed=11))
    assert [(q.scenario.id, [o.key for o in q.options]) for q in first] == [
        (q.scenario.id, [o.key for o in q.options]) for q in again
    ]
    others = [planned_questions(QuizSettings(count=5, seed=s)) for s in (12, 13)]
    assert any([q.scenario.id for q in o] != [q.scenario.id for q in first] for o in others)


def test_same_seed_prints_the_same_quiz(tmp_path: Path) -> None:
    settings = QuizSettings(count=3, seed=4)
    keys = keys_for(planned_questions(settings), [True, False, True])
    first, _ = run_piped(settings, keys, tmp_path / "a" / "p.json")
    again, _ = run_piped(settings, keys, tmp_path / "b" / "p.json")
    assert first == again
    assert "Score: 2/3 (67%)" in first


def test_topic_filter(tmp_path: Path, bank: Bank) -> None:
    settings = QuizSettings(topics=("hyperparameter_tuning",), count=4, seed=2)
    questions = planned_questions(settings)
    assert len(questions) == 4
    assert all("hyperparameter_tuning" in q.scenario.topics for q in questions)


# --- practice and exam runs (pipe input) ---------------------------------------------------------


def test_practice_run_all_right(tmp_path: Path) -> None:
    settings = QuizSettings(count=3, seed=1)
    questions = planned_questions(settings)
    text, progress = run_piped(settings, keys_for(questions, [True] * 3), tmp_path / "p.json")
    assert text.count("Right.") == 3 and "Wrong." not in text
    assert "Score: 3/3 (100%)" in text
    assert "Training decisions only: 4 of the exam's 6 domains (65% of its weight)" in text
    assert "By topic" in text and "By exam domain" in text
    assert "Not covered at all: Automating and orchestrating ML pipelines (22%)" in text
    for question in questions:
        assert question.scenario.story[:40] in text
        assert str(question.solution.rule) not in text  # rule ids only behind --debug
        assert progress.cards[question.scenario.id].box == 2
    assert json.loads((tmp_path / "p.json").read_text())["session"] == 1


def test_practice_feedback_after_a_wrong_pick(tmp_path: Path) -> None:
    settings = QuizSettings(count=2, seed=3)
    questions = planned_questions(settings)
    text, progress = run_piped(settings, keys_for(questions, [False, True]), tmp_path / "p.json")
    first = text.split("Question 2 of 2")[0]
    assert "Wrong." in first
    assert f"Answer: {questions[0].correct.label}" in first
    assert "Why: " in first and "Read more: https://" in first
    assert "Why not " in first and "The other options:" in first
    assert "priority" not in first and str(questions[0].solution.rule) not in first
    assert "Score: 1/2 (50%)" in text
    assert progress.cards[questions[0].scenario.id].last_correct is False


def test_debug_shows_the_rules_behind_the_feedback(tmp_path: Path) -> None:
    settings = QuizSettings(count=2, seed=3)
    questions = planned_questions(settings)
    keys = keys_for(questions, [False, True])
    text, _ = run_piped(settings, keys, tmp_path / "p.json", debug=True)
    first = text.split("Question 2 of 2")[0]
    assert f"Rule {questions[0].solution.rule}" in first
    assert "debug: " in first


def test_exam_gives_no_feedback_until_the_review(tmp_path: Path) -> None:
    settings = QuizSettings(count=3, seed=8, exam=True)
    questions = planned_questions(settings)
    text, progress = run_piped(
        settings, keys_for(questions, [True, False, True], exam=True), tmp_path / "p.json"
    )
    asking, review = text.split("\nReview\n", 1)
    assert "Time limit 7:12" in asking  # 144 seconds a question: 50 in 120 minutes
    # As in the real exam, the header names no topic.
    assert re.findall(r"Question \d of 3.*", asking) == [f"Question {i} of 3" for i in (1, 2, 3)]
    assert "Right." not in asking and "Wrong." not in asking and "Why:" not in asking
    assert review.count("Why:") == 3
    assert "Your answer:" in review
    assert "Score: 2/3 (67%)" in review
    assert [progress.cards[q.scenario.id].last_correct for q in questions] == [True, False, True]


def test_exam_time_limit_ends_the_exam(tmp_path: Path) -> None:
    settings = QuizSettings(count=3, seed=8, exam=True, time_limit=1.0)
    questions = planned_questions(settings)
    # Only the first question is answered; the second prompt waits until time runs out.
    keys = keys_for(questions[:1], [True], exam=True)[:-1]  # no submit
    text, progress = run_piped(settings, keys, tmp_path / "p.json")
    assert "Time is up" in text
    assert text.count("not answered") == 2
    assert "Score: 1/3 (33%)" in text
    assert progress.cards[questions[2].scenario.id].last_correct is False


# --- command line --------------------------------------------------------------------------------


def test_list_json(bank: Bank) -> None:
    result = run_advisor("quiz", "--list", "--json")
    assert result.returncode == 0, result.stderr
    items = json.loads(result.stdout)
    assert len(items) == len(bank.scenarios)
    keys = {
        "id",
        "dimension",
        "topics",
        "story",
        "facts",
        "expected",
        "answer",
        "rule",
        "explanation",
    }
    for item in items:
        assert keys <= set(item), item["id"]
        assert item["answer"] == item["expected"], item["id"]
        assert item["rule"] and item["explanation"]
    by_id = {item["id"]: item for item in items}
    assert by_id["service-sql-team-warehouse-scale"]["rule"] == "SVC-BQML-SQL-TEAM"
    assert by_id["automl-text-shut-down"]["answer"] == {
        "choice": "not_applicable",
        "budget_milli_node_hours": None,
    }


def test_list_json_by_topic() -> None:
    result = run_advisor("quiz", "--list", "--json", "--topic", "pretrained_models")
    items = json.loads(result.stdout)
    assert items and all("pretrained_models" in item["topics"] for item in items)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--topic", "gpus"], "--topic: 'gpus' is not a quiz topic"),
        (["--json"], "--json: only with --list or --stats"),
        (["--time-limit", "60"], "--time-limit: only with --exam"),
        (["--count", "0"], "expected an integer >= 1"),
        (["--list", "--stats"], "not allowed with argument"),
    ],
)
def test_bad_options_exit_2(args: list[str], message: str) -> None:
    result = run_advisor("quiz", *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_quiz_without_a_terminal_says_so(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "advisor", "quiz", "--count", "1"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", "XDG_DATA_HOME": str(tmp_path), "HOME": str(tmp_path)},
        timeout=60,
    )
    assert result.returncode == 2
    assert "--list --json" in result.stderr and "Traceback" not in result.stderr


# --- narrow terminals, pipes and screen readers --------------------------------------------------


@pytest.mark.parametrize("mode", ["--stats", "--list"])
def test_stats_and_list_read_at_80_columns(tmp_path: Path, bank: Bank, mode: str) -> None:
    env = {"COLUMNS": "80", "XDG_DATA_HOME": str(tmp_path)}
    result = run_advisor("quiz", mode, env=env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert not any(ch in result.stdout for ch in "…┃│━")  # nothing cut, no box drawing
    if mode == "--stats":
        assert all(any(line.startswith(t) for line in lines) for t in bank.topic_ids)
    else:
        assert all(f"{s.id} ({s.dimension})" in lines for s in bank.scenarios)


def test_plain_mode_reads_numbered_answers_from_a_pipe(tmp_path: Path) -> None:
    settings = QuizSettings(count=2, seed=1)
    questions = planned_questions(settings)
    numbers = [[o.key for o in q.options].index(q.correct.key) + 1 for q in questions]
    stdin = f"{numbers[0]}\n\n{numbers[1]}\n"
    result = run_advisor(
        "quiz",
        "--plain",
        "--count",
        "2",
        "--seed",
        "1",
        env={"XDG_DATA_HOME": str(tmp_path)},
        input=stdin,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("Right.") == 2
    assert "  1) " in result.stdout and "Enter a number" in result.stdout
    assert "Score: 2/2 (100%)" in result.stdout
    assert "\x1b[" not in result.stdout  # no colour or cursor codes
