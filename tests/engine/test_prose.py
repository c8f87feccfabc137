"""Every reason and tip the rules can produce reads as English.

The texts are rendered through the full engine over a broad sample of the answer space: every
rule's own cases, every bundled example and quiz scenario, and from each firing case every value
of every answer that rule reads (the facts `rules check` splits the space by). The test fails on
an unfilled `{placeholder}`, a doubled word ("tabular tabular"), a snake_case choice id pasted
into a sentence ("custom_training", "scikit learn") or a product name written as its id
("tensorflow", "automl"). The JSON keeps the ids: only the prose changes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from advisor.engine import recommend
from advisor.engine.domains import atoms_by_fact, fact_domain
from advisor.errors import AdvisorError
from advisor.ruleset.questions import validate_answers
from advisor.ruleset.rules import RuleSet
from tests.conftest import REPO

_UNFILLED = re.compile(r"\{[a-z_][a-z0-9_.]*\}")
_DOUBLED = re.compile(r"\b([A-Za-z]+)\s+\1\b(?!-)", re.IGNORECASE)  # "on on-demand" is fine
_PREPOSITIONS = re.compile(
    r"\b(?:on|in|at|within|for|to) (?:on|in|at|within|for)\b(?!-)", re.IGNORECASE
)
_CAMEL = re.compile(r"[a-z][A-Z]|^[A-Z]{2}")


def _samples(ruleset: RuleSet) -> Iterator[dict[str, Any]]:
    for path in sorted((REPO / "examples").glob("*.yml")):
        yield yaml.safe_load(path.read_text(encoding="utf-8"))
    for path in sorted((REPO / "rules" / "scenarios").glob("[!_]*.yaml")):
        facts = yaml.safe_load(path.read_text(encoding="utf-8")).get("facts")
        if isinstance(facts, dict):
            yield facts
    earlier: set[str] = set()
    for decision in ruleset.decisions:
        for rule in ruleset.rules[decision.name]:
            atoms = atoms_by_fact([rule])
            for case in rule.cases:
                yield dict(case.answers)
                if not case.fires:
                    continue
                for fact, fact_atoms in atoms.items():
                    if fact not in ruleset.questions.by_id:
                        continue
                    for value in fact_domain(fact, fact_atoms, ruleset, earlier, reduce=False):
                        yield {**case.answers, fact: value}
        earlier.add(decision.name)


def _texts(ruleset: RuleSet) -> dict[str, tuple[str, dict[str, Any]]]:
    """Each distinct text the engine wrote, with the rule and the answers that produced it."""
    texts: dict[str, tuple[str, dict[str, Any]]] = {}
    for raw in _samples(ruleset):
        try:
            answers = validate_answers(raw, ruleset.questions, "sample")
            rec = recommend(answers, ruleset)
        except AdvisorError:
            continue  # a sample outside the answer space
        for output in [*rec.decisions.values(), rec.top.get("cost") or {}]:
            for text in [output.get("because", ""), *output.get("warnings", [])]:
                texts.setdefault(text, (str(output.get("rule")), raw))
        for tip in rec.top.get("tips", []):
            texts.setdefault(tip["text"], (tip["rule"], raw))
    return texts


def _raw_ids(ruleset: RuleSet) -> dict[str, str]:
    """Spellings that give away an id in prose, each with the label it should have read."""
    pairs: list[tuple[str, str]] = []
    for decision in ruleset.decisions:
        pairs += [(choice, decision.label(choice)) for choice in decision.choices]
    for question in ruleset.questions.questions:
        pairs += [(choice.value, choice.label or choice.value) for choice in question.choices]
    bad: dict[str, str] = {}
    for value, label in pairs:
        if "_" in value:
            bad[value] = label
            words = value.replace("_", " ")
            if words.lower() != label.lower():
                bad[words] = label
        elif _CAMEL.search(label) and value.lower() == label.lower():
            bad[value] = label  # tensorflow for TensorFlow
    return bad


@pytest.fixture(scope="module")
def texts(ruleset: RuleSet) -> dict[str, tuple[str, dict[str, Any]]]:
    return _texts(ruleset)


def test_every_rule_text_is_rendered(ruleset: RuleSet, texts: dict[str, Any]) -> None:
    rendered = {rule for rule, _raw in texts.values()}
    missing = sorted(set(ruleset.by_id) - rendered)
    assert not missing, f"rules never rendered by the sample: {missing}"


def test_no_unfilled_placeholders(texts: dict[str, tuple[str, dict[str, Any]]]) -> None:
    bad = [
        (rule, m.group(0), raw) for t, (rule, raw) in texts.items() for m in _UNFILLED.finditer(t)
    ]
    assert not bad, bad[:5]


def test_no_doubled_words(texts: dict[str, tuple[str, dict[str, Any]]]) -> None:
    bad = [
        (rule, m.group(0), text)
        for text, (rule, _raw) in texts.items()
        for m in _DOUBLED.finditer(text)
    ]
    assert not bad, bad[:5]


def test_no_doubled_prepositions(texts: dict[str, tuple[str, dict[str, Any]]]) -> None:
    bad = [
        (rule, m.group(0), t)
        for t, (rule, _raw) in texts.items()
        for m in _PREPOSITIONS.finditer(t)
    ]
    assert not bad, bad[:5]


def test_no_raw_ids_in_prose(
    ruleset: RuleSet, texts: dict[str, tuple[str, dict[str, Any]]]
) -> None:
    ids = _raw_ids(ruleset)
    bad = []
    for text, (rule, raw) in texts.items():
        for spelling, label in ids.items():
            if re.search(rf"(?<![\w.=/-]){re.escape(spelling)}(?![\w(=/-])", text):
                bad.append(f"{rule}: '{spelling}' should read '{label}': {text} ({raw})")
    assert not bad, "\n".join(bad[:8])


def test_the_detectors_catch_what_they_should(ruleset: RuleSet) -> None:
    ids = _raw_ids(ruleset)
    assert _DOUBLED.search("Classical tabular tabular classification")
    assert _UNFILLED.search("the {task} problem")
    assert _PREPOSITIONS.search("Serving on in the browser")
    assert "scikit learn" in ids and "tabular_classification" in ids and "tensorflow" in ids


def test_labels_read_well_in_sentences(ruleset: RuleSet) -> None:
    answers = validate_answers(
        {"task": "tabular_classification", "model_family": "linear"}, ruleset.questions, "t"
    )
    rec = recommend(answers, ruleset)
    assert rec.decisions["framework"]["because"].startswith("Classical tabular classification ")
    assert "scikit-learn" in rec.decisions["distribution"]["because"]
    assert rec.decisions["framework"]["choice"] == "scikit_learn"  # the JSON keeps the id


def test_a_choice_without_a_label_is_a_load_error(tmp_path: Path) -> None:
    import shutil

    from advisor.errors import BadRuleFile
    from advisor.ruleset.rules import load_rules

    shutil.copytree(REPO / "rules", tmp_path / "rules")
    path = tmp_path / "rules" / "decisions.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("tensorrt: TensorRT, ", "", 1), encoding="utf-8")
    with pytest.raises(BadRuleFile, match="compression: choices without a label: tensorrt"):
        load_rules(tmp_path / "rules")
    path.write_text(text.replace("tensorrt: TensorRT", "tensorrt: TensorRT, trt: x"), "utf-8")
    with pytest.raises(BadRuleFile, match="labels for unknown choices: trt"):
        load_rules(tmp_path / "rules")
