"""`advisor rules check`: passes on the shipped rules, and finds gaps, overlaps and dead rules."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from advisor.engine.check import check_ruleset
from advisor.ruleset.rules import RuleSet, load_rules
from tests.conftest import REPO, run_advisor


@pytest.fixture
def rules_copy(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(REPO / "rules", target)
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_shipped_rules_are_complete_and_consistent(ruleset: RuleSet) -> None:
    report = check_ruleset(ruleset)
    assert report.ok, [p for d in report.decisions for p in d.problems] + report.case_failures
    assert report.points > 10_000
    assert report.cases_run == sum(len(rule.cases) for rule in ruleset.by_id.values())
    for decision in report.decisions:
        assert all(count > 0 for count in decision.wins.values()), decision.decision


def test_cli_exit_0_and_counts() -> None:
    result = run_advisor("rules", "check", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert data["ok"] is True
    assert data["points"] > 10_000


def test_a_gap_is_found_and_named(rules_copy: Path) -> None:
    (rules_copy / "service" / "SVC-CUSTOM-DEFAULT.yaml").unlink()
    report = check_ruleset(load_rules(rules_copy))
    service = next(d for d in report.decisions if d.decision == "service")
    assert any(p.startswith("gap: no rule decides service") for p in service.problems)
    result = run_advisor("rules", "check", env={"ADVISOR_RULES_DIR": str(rules_copy)})
    assert result.returncode == 1
    assert "gap: no rule decides service when" in result.stdout


def test_equal_priority_overlap_is_found(rules_copy: Path) -> None:
    _edit(rules_copy / "hp_search" / "HP-BAYESIAN-EXPENSIVE.yaml", "priority: 50", "priority: 45")
    report = check_ruleset(load_rules(rules_copy))
    hp = next(d for d in report.decisions if d.decision == "hp_search")
    assert any("overlap: HP-BAYESIAN-EXPENSIVE and HP-RANDOM-PARALLEL" in p for p in hp.problems)


def test_a_rule_that_never_wins_is_found(rules_copy: Path) -> None:
    _edit(rules_copy / "framework" / "FW-TREES.yaml", "priority: 40", "priority: 95")
    _edit(
        rules_copy / "framework" / "FW-TREES.yaml", "- {fact: task, in:", "- {fact: task, not_in:"
    )
    report = check_ruleset(load_rules(rules_copy))
    framework = next(d for d in report.decisions if d.decision == "framework")
    assert "unreachable: FW-TREES never wins" in framework.problems


def test_a_wrong_case_is_reported(rules_copy: Path) -> None:
    _edit(
        rules_copy / "hardware" / "HW-TPU-POD.yaml",
        "expect: {hardware: multi_gpu}",
        "expect: {hardware: tpu}",
    )
    report = check_ruleset(load_rules(rules_copy))
    assert any(
        f.startswith("HW-TPU-POD_medium: expected hardware=tpu") for f in report.case_failures
    )


def test_numeric_thresholds_are_split_on_both_sides(ruleset: RuleSet) -> None:
    from advisor.engine.domains import atoms_by_fact, fact_domain

    atoms = atoms_by_fact(ruleset.rules["hardware"])
    tests = atoms["model_parameters"]
    points = fact_domain("model_parameters", tests, ruleset, set())
    for atom in tests:  # every threshold test is both true and false somewhere in the domain
        assert {atom.test(p) for p in points} == {True, False}, atom
    # one representative per region: (0], (0, 1M), [1M, 100M), [100M, 1B], (1B, ...)
    assert len(points) == 5


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("choice: tpu_pod", "choice: tpu_cluster", "choice 'tpu_cluster' is not one of"),
        ("priority: 40", "priority: -1", "priority"),
        ("decision: hardware", "decision: service", "decision 'service' but the file is in"),
        ("id: HW-TPU-POD", "id: HW-TPU-PODS", "must be named HW-TPU-PODS.yaml"),
    ],
)
def test_broken_rules_name_file_and_rule(
    rules_copy: Path, old: str, new: str, message: str
) -> None:
    from advisor.errors import BadRuleFile

    _edit(rules_copy / "hardware" / "HW-TPU-POD.yaml", old, new)
    with pytest.raises(BadRuleFile) as info:
        load_rules(rules_copy)
    assert "HW-TPU-POD.yaml" in str(info.value)
    assert message in str(info.value)


def test_rules_list_and_show() -> None:
    listed = run_advisor("rules", "list", env={"COLUMNS": "200"})
    assert listed.returncode == 0
    assert "HW-TPU-POD" in listed.stdout and "SVC-ONPREM" in listed.stdout
    shown = run_advisor("rules", "show", "hw-tpu-pod")
    assert shown.returncode == 0
    assert "model_parameters > 1000000000" in shown.stdout
    missing = run_advisor("rules", "show", "HW-TPU-PAD")
    assert missing.returncode == 2
    assert "did you mean HW-TPU-POD" in missing.stderr


def test_facts_compared_with_each_other_get_both_outcomes(ruleset: RuleSet) -> None:
    from advisor.engine.domains import atoms_by_fact, fact_domains

    atoms = atoms_by_fact(ruleset.rules["hp_search"])
    facts = sorted(atoms)
    earlier = set(ruleset.decision_names[: ruleset.decision_names.index("hp_search")])
    domains = dict(zip(facts, fact_domains(facts, atoms, ruleset, earlier), strict=True))
    relation = next(a for a in atoms["search_points"] if a.other == "max_trials")
    outcomes = {
        relation.compare(points, trials)
        for points in domains["search_points"]
        for trials in domains["max_trials"]
    }
    assert outcomes == {True, False}


def test_a_fact_comparison_with_an_unknown_fact_is_refused(rules_copy: Path) -> None:
    from advisor.errors import BadRuleFile

    _edit(
        rules_copy / "hp_search" / "HP-GRID.yaml", "lte: {fact: max_trials}", "lte: {fact: budget}"
    )
    with pytest.raises(BadRuleFile) as info:
        load_rules(rules_copy)
    assert "HP-GRID.yaml" in str(info.value) and "unknown fact 'budget'" in str(info.value)
