"""The bank as exam practice: its size and coverage, story length, sources a learner can open, and
options that read as actions and do not give themselves away by repetition."""

from __future__ import annotations

import random
import re
import statistics
from collections import Counter, defaultdict

import pytest

from advisor.paths import rules_dir
from advisor.quiz.bank import Bank, load_bank
from advisor.quiz.solve import build_options, solve
from advisor.ruleset.rules import RuleSet

MIN_SCENARIOS = 150
MIN_PER_TOPIC = 12
STORY_WORDS = (50, 120)
SEEDS = range(3)  # options are drawn with a seeded shuffle; counts hold for each


@pytest.fixture(scope="module")
def bank(ruleset: RuleSet) -> Bank:
    return load_bank(rules_dir() / "scenarios", ruleset)


def test_bank_size_and_every_focus_area_covered(bank: Bank) -> None:
    assert len(bank.scenarios) >= MIN_SCENARIOS
    per_topic = Counter(topic for s in bank.scenarios for topic in s.topics)
    short = {t: per_topic[t] for t in bank.topic_ids if per_topic[t] < MIN_PER_TOPIC}
    assert not short, f"topics with fewer than {MIN_PER_TOPIC} scenarios: {short}"


def test_stories_are_exam_length(bank: Bank) -> None:
    lengths = {s.id: len(s.story.split()) for s in bank.scenarios}
    low, high = STORY_WORDS
    outside = {sid: n for sid, n in lengths.items() if not low <= n <= high}
    assert not outside, f"stories outside {low}-{high} words: {outside}"
    assert statistics.median(lengths.values()) >= low


def test_stories_stand_alone(bank: Bank) -> None:
    """A shuffled quiz shows any story first: none may lean on another ("the same team ...")."""
    leaning = [
        s.id for s in bank.scenarios if re.search(r"\bthe same (team|model|bert)", s.story, re.I)
    ]
    assert not leaning


def test_every_scenario_has_a_public_source(bank: Bank) -> None:
    for scenario in bank.scenarios:
        assert scenario.source.startswith("https://"), scenario.id
        assert "guide" not in scenario.source.split("/")[2], scenario.id


def _offered(bank: Bank, ruleset: RuleSet, seed: int) -> dict[str, list[tuple[str, bool]]]:
    """For each dimension, every (label, is the answer) offered over the bank."""
    offered: dict[str, list[tuple[str, bool]]] = defaultdict(list)
    for scenario in bank.scenarios:
        solution = solve(scenario, ruleset)
        options, correct = build_options(solution, bank, ruleset, random.Random(seed))
        for option in options:
            offered[scenario.dimension].append((option.label, option is correct))
    return offered


@pytest.mark.parametrize("seed", SEEDS)
def test_no_distractor_is_repeated_across_a_dimension(
    bank: Bank, ruleset: RuleSet, seed: int
) -> None:
    """No option appears as a distractor in more than a third of a dimension's questions: a
    learner who recognises a filler option would rule it out without reading the story."""
    questions = Counter(s.dimension for s in bank.scenarios)
    for dimension, pairs in _offered(bank, ruleset, seed).items():
        as_distractor = Counter(label for label, right in pairs if not right)
        limit = questions[dimension] / 3
        worst = {label: n for label, n in as_distractor.items() if n > limit}
        assert not worst, f"{dimension} ({questions[dimension]} questions): {worst}"


def test_options_are_full_sentences(bank: Bank, ruleset: RuleSet) -> None:
    for dimension, pairs in _offered(bank, ruleset, 0).items():
        for label, _ in pairs:
            assert len(label.split()) >= 4, (dimension, label)
            assert label[0].isupper(), (dimension, label)


def test_explanations_speak_the_story_not_the_engine(bank: Bank, ruleset: RuleSet) -> None:
    """Why each option loses: no rule id, no priority, no answer id, and a value quoted only
    where the story states it."""
    from advisor.quiz.explain import why_wrong

    rule_ids = set(ruleset.by_id)
    fact_ids = {q.id for q in ruleset.questions.questions}
    for scenario in bank.scenarios:
        solution = solve(scenario, ruleset)
        options, correct = build_options(solution, bank, ruleset, random.Random(0))
        for option in options:
            if option is correct:
                continue
            text = " ".join(why_wrong(option, solution, ruleset, bank))
            assert text, (scenario.id, option.label)
            words = set(re.findall(r"[A-Za-z_-]+", text))
            assert not words & rule_ids, (scenario.id, text)
            assert "priority" not in text, (scenario.id, text)
            assert not {w for w in words if "_" in w} & fact_ids, (scenario.id, text)
            for fact in set(fact_ids) - set(scenario.facts):
                name = bank.fact_names.get(fact)
                if name and f"{name}; here it is" in text:
                    raise AssertionError(f"{scenario.id}: quotes unstated {fact}: {text}")


def test_score_report_maps_to_the_exam_domains_and_says_what_is_missing(bank: Bank) -> None:
    from advisor.quiz.session import coverage_note

    assert sum(d.weight for d in bank.domains) == 100
    covered = {t for d in bank.domains for t in d.topics}
    assert covered == set(bank.topic_ids)  # every topic counts towards some exam domain
    note = coverage_note(bank)
    untouched = [d for d in bank.domains if not d.topics]
    assert untouched and all(d.title in note for d in untouched)
    share = sum(d.weight for d in bank.domains if d.topics)
    assert f"({share}% of the exam by weight)" in note
