"""The quiz bank: its shape, and the engine agreeing with every scenario's expected answer."""

from __future__ import annotations

import dataclasses
import random
import shutil
from collections import Counter
from pathlib import Path

import pytest

from advisor.errors import BadRuleFile
from advisor.paths import rules_dir
from advisor.quiz.bank import TIP_KEY, Bank, Scenario, load_bank
from advisor.quiz.session import make_question
from advisor.quiz.solve import (
    build_options,
    decision_output,
    facts_at,
    option_id,
    option_label,
    solve,
    unmet,
)
from advisor.ruleset.rules import RuleSet

SCENARIOS = rules_dir() / "scenarios"
IDS = sorted(p.stem for p in SCENARIOS.glob("*.yaml") if not p.name.startswith("_"))
DIMENSIONS = [
    "service",
    "framework",
    "hardware",
    "distribution",
    "hp_search",
    "compression",
    "automl",
    "bqml_model",
    "tips",
]


@pytest.fixture(scope="module")
def bank(ruleset: RuleSet) -> Bank:
    return load_bank(SCENARIOS, ruleset)


def _disagreement(scenario: Scenario, ruleset: RuleSet) -> str | None:
    """None when the engine gives the expected answer; else a message naming the rule that won."""
    solution = solve(scenario, ruleset)
    if solution.agrees:
        return None
    output = decision_output(solution.rec, scenario.dimension)
    if TIP_KEY in scenario.expected:
        tip = scenario.expected[TIP_KEY]
        rule = next(r for r in ruleset.rules[scenario.dimension] if r.then.get(TIP_KEY) == tip)
        facts = facts_at(solution.rec, ruleset, scenario.dimension)
        detail = (
            f"the engine's tips are {[t['id'] for t in output]}; {rule.id} did not match:"
            f" {'; '.join(unmet(rule.when, facts))}"
        )
    else:
        detail = (
            f"the engine answers {solution.answer}; rule {solution.rule} won"
            f" ({solution.because})"
        )
    return f"scenario {scenario.id} ({scenario.path}) expects {scenario.expected}, but {detail}"


@pytest.mark.parametrize("scenario_id", IDS)
def test_engine_agrees_with_scenario(scenario_id: str, bank: Bank, ruleset: RuleSet) -> None:
    problem = _disagreement(bank.by_id[scenario_id], ruleset)
    assert problem is None, problem


def test_a_disagreement_names_the_scenario_and_the_winning_rule(
    bank: Bank, ruleset: RuleSet
) -> None:
    wrong = dataclasses.replace(bank.by_id["hardware-bert-large-tpu"], expected={"choice": "cpu"})
    message = _disagreement(wrong, ruleset)
    assert message is not None
    assert "scenario hardware-bert-large-tpu" in message and "rule HW-TPU-TF-MATRIX won" in message
    tip = dataclasses.replace(bank.by_id["tip-spot-vms"], expected={TIP_KEY: "bfloat16"})
    message = _disagreement(tip, ruleset)
    assert message is not None and "TIP-BFLOAT16 did not match: hardware in" in message


def test_an_option_id_adds_the_answers_details_after_its_steps(
    bank: Bank, ruleset: RuleSet
) -> None:
    """A detail beside the steps (a quantization type) is part of the option id, so that a story
    words float16 and int8 quantization apart, and a step reads with the answer's detail."""
    float16 = {
        "choice": "post_training_quantization",
        "quantization": "float16",
        "steps": ["post_training_quantization"],
    }
    assert option_id(float16, "steps") == "post_training_quantization:float16"
    assert option_id({**float16, "quantization": None}, "steps") == "post_training_quantization"
    student = {**float16, "choice": "combined", "steps": ["distillation", *float16["steps"]]}
    assert option_id(student, "steps") == "distillation+post_training_quantization:float16"
    labels = bank.dimensions["compression"].labels
    assert (
        option_label(float16, "compression", bank, ruleset) == labels[option_id(float16, "steps")]
    )

    scenario = bank.by_id["compression-float16-cut"]
    options, correct = build_options(solve(scenario, ruleset), bank, ruleset, random.Random(0))
    assert correct.values["quantization"] == "float16"
    assert correct.label == scenario.options["post_training_quantization:float16"]
    offered = {o.label for o in options}
    assert scenario.options["post_training_quantization:dynamic_range"] in offered
    assert labels["post_training_quantization"] not in offered  # int8 is not the answer's wording

    question = make_question(bank.by_id["compression-gpu-distill"], bank, ruleset, 0)
    assert question.multi and question.correct.values["quantization"] == "float16"
    step = next(o for o in question.options if o.values["choice"] == "post_training_quantization")
    assert step.label == labels["post_training_quantization:float16"]


def test_bank_size_and_dimensions(bank: Bank) -> None:
    assert len(bank.scenarios) >= 60
    per_dimension = Counter(s.dimension for s in bank.scenarios)
    for dimension in DIMENSIONS:
        assert per_dimension[dimension] >= 6, (dimension, per_dimension)
    assert set(bank.dimensions) == set(DIMENSIONS)


def test_topics_are_the_guides_exam_focus_areas(bank: Bank) -> None:
    guide = Path(__file__).resolve().parents[3] / "shared" / "guide.md"
    titles = [t.title for t in bank.topics]
    assert len(titles) == 8  # the guide lists eight focus areas
    if guide.is_file():  # the source guide lives beside the repository in the work tree
        text = guide.read_text(encoding="utf-8")
        focus = text.split("## Exam Focus Areas", 1)[1].split("\n## ", 1)[0]
        for topic in bank.topics:
            assert topic.focus in focus, topic.id
    for scenario in bank.scenarios:
        assert scenario.topics and set(scenario.topics) <= set(bank.topic_ids), scenario.id


def test_every_guide_scenario_is_in_the_bank(bank: Bank) -> None:
    assert sum(g.id.startswith("exam-") for g in bank.guide_scenarios) == 8
    assert sum(g.id.startswith("study-") for g in bank.guide_scenarios) == 8
    covered = {ref for s in bank.scenarios for ref in s.guide_scenarios}
    missing = [g.id for g in bank.guide_scenarios if g.id not in covered]
    assert not missing, f"guide scenarios without a quiz scenario: {missing}"


def test_bank_has_naive_reading_traps(bank: Bank, ruleset: RuleSet) -> None:
    traps = [s for s in bank.scenarios if s.trap]
    assert len(traps) >= 15
    # Each refinement of the guide (a rule with `refines`, or a documented source) is quizzed.
    winners = {solve(s, ruleset).rule for s in traps}
    for rule_id in (
        "SVC-BQML-SQL-TEAM",
        "SVC-NO-AUTOML-PRODUCT",
        "SVC-GEMINI-NO-ML-TEAM",
        "SVC-API-VIDEO-DEPRECATED",
        "AML-TEXT-SHUTDOWN",
        "AML-VIDEO-SHUTDOWN",
        "HP-GRID-NEEDS-DISCRETE",
        "COMP-PTQ-SIZE",
        "AML-TABULAR",
        "HW-HUGE-GPU",
        "COMP-EDGE-NO-RETRAIN",
    ):
        assert rule_id in winners, rule_id


def test_every_scenario_names_facts_and_a_story(bank: Bank) -> None:
    ids = [s.id for s in bank.scenarios]
    assert ids == IDS  # one file per scenario, named by its id
    for scenario in bank.scenarios:
        assert scenario.facts, scenario.id
        assert len(scenario.story.split()) >= 12, scenario.id


def _copy_bank(tmp_path: Path) -> Path:
    target = tmp_path / "scenarios"
    shutil.copytree(SCENARIOS, target)
    return target


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"facts": "{task: pictures}"}, "facts: field 'task'"),
        ({"facts": "{tsk: image_classification}"}, "did you mean 'task'"),
        ({"dimension": "budget"}, "dimension 'budget' is not one of"),
        ({"topics": "[gpu_stuff]"}, "topics: 'gpu_stuff' is not a topic"),
        ({"expected": "quantum"}, "expected.choice: 'quantum' is not one of"),
        ({"expected": "{choice: multi_gpu, gpus: 4}"}, "expected.gpus: no hardware rule outputs"),
    ],
)
def test_bad_scenario_file_names_file_and_field(
    tmp_path: Path, ruleset: RuleSet, edit: dict[str, str], message: str
) -> None:
    root = _copy_bank(tmp_path)
    path = root / "hardware-standard-cnn.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    key, value = next(iter(edit.items()))
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{key}:"))
    end = start + 1
    while end < len(lines) and lines[end].startswith("  "):
        end += 1
    lines[start:end] = [f"{key}: {value}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(BadRuleFile) as err:
        load_bank(root, ruleset)
    assert str(path) in str(err.value)
    assert message in str(err.value)


def test_file_must_be_named_by_id(tmp_path: Path, ruleset: RuleSet) -> None:
    root = _copy_bank(tmp_path)
    (root / "hardware-standard-cnn.yaml").rename(root / "renamed.yaml")
    with pytest.raises(BadRuleFile, match="must be named hardware-standard-cnn.yaml"):
        load_bank(root, ruleset)
