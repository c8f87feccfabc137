"""The rule files themselves: shape, documentation sections, sources, refinements."""

from __future__ import annotations

import re

from advisor.ruleset.rules import RuleSet


def test_every_rule_documents_what_why_and_source(ruleset: RuleSet) -> None:
    for rule in ruleset.by_id.values():
        assert rule.title.strip(), rule.id
        assert len(rule.because.split()) >= 6, f"{rule.id}: 'because' should explain the choice"
        assert rule.source.startswith(("guide: ", "https://")), f"{rule.id}: source {rule.source!r}"


def test_file_names_match_ids_and_folders_match_decisions(ruleset: RuleSet) -> None:
    for rule in ruleset.by_id.values():
        assert rule.path is not None
        assert rule.path.stem == rule.id
        assert rule.path.parent.name == rule.decision


def test_refinements_name_an_existing_rule_and_cite_a_public_page(ruleset: RuleSet) -> None:
    refinements = [rule for rule in ruleset.by_id.values() if rule.refines]
    assert len(refinements) >= 8
    for rule in refinements:
        assert rule.refines in ruleset.by_id, f"{rule.id} refines unknown {rule.refines}"
        assert "https://" in rule.source, f"{rule.id}: a refinement cites its public page"


def test_guide_sources_name_sections_of_the_guide(
    ruleset: RuleSet, guide_headings: set[str]
) -> None:
    for rule in ruleset.by_id.values():
        for cited in re.findall(r"guide: ([^;(\"]+)", rule.source):
            section = cited.strip().split(" / ")[-1].strip()
            known = any(heading.startswith(section) for heading in guide_headings)
            assert known, f"{rule.id} cites '{section}', not a guide heading"


def test_every_decision_can_be_not_applicable_or_always_applies(ruleset: RuleSet) -> None:
    for decision in ruleset.decisions:
        if decision.kind == "single":
            assert decision.choices, decision.name
            winners = {rule.choice for rule in ruleset.rules[decision.name]}
            assert winners <= set(decision.choices)
