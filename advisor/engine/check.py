"""`advisor rules check`: prove the rule set complete and consistent over the whole answer space.

For each decision, every fact its rules read gets a finite domain: choice values grouped into
classes the rules cannot tell apart, booleans, and numbers split just below, at and above every
threshold any rule uses. Earlier decisions are free variables over their choices, so the proof
also holds for combinations the earlier rules never produce. Over the product of the domains each
point must have exactly one winning rule (no gap, no two matching rules of equal priority), and
every rule must win somewhere. Each rule's own cases are run through the full engine as well,
and the cases of sized decisions in every catalogue region (catalogue_check).
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any

from advisor.engine.catalogue_check import catalogue_problems
from advisor.engine.domains import atoms_by_fact, fact_domains
from advisor.engine.evaluate import recommend
from advisor.errors import AdvisorError
from advisor.ruleset.questions import validate_answers
from advisor.ruleset.rules import Rule, RuleSet


@dataclass
class DecisionReport:
    decision: str
    rules: int
    points: int
    wins: dict[str, int]
    problems: list[str] = field(default_factory=list)


@dataclass
class CheckReport:
    decisions: list[DecisionReport]
    case_failures: list[str]
    cases_run: int
    seconds: float

    @property
    def ok(self) -> bool:
        return not self.case_failures and not any(d.problems for d in self.decisions)

    @property
    def points(self) -> int:
        return sum(d.points for d in self.decisions)


def check_ruleset(ruleset: RuleSet) -> CheckReport:
    start = time.perf_counter()
    reports = []
    for index, decision in enumerate(ruleset.decisions):
        rules = ruleset.rules[decision.name]
        earlier = set(ruleset.decision_names[:index])
        if decision.kind == "multi":
            reports.append(_check_multi(decision.name, rules, ruleset, earlier))
        else:
            reports.append(_check_single(decision.name, rules, ruleset, earlier))
    failures, cases = _run_cases(ruleset)
    failures += catalogue_problems(ruleset)
    return CheckReport(reports, failures, cases, time.perf_counter() - start)


def _check_single(
    name: str, rules: list[Rule], ruleset: RuleSet, earlier: set[str]
) -> DecisionReport:
    atoms = atoms_by_fact(rules)
    facts = sorted(atoms)
    domains = fact_domains(facts, atoms, ruleset, earlier)
    wins = {rule.id: 0 for rule in rules}
    problems: list[str] = []
    overlaps: set[tuple[str, str]] = set()
    points = 0
    for combo in itertools.product(*domains):
        points += 1
        point = dict(zip(facts, combo, strict=True))
        matched = [rule for rule in rules if rule.condition(point)]
        if not matched:
            if len(problems) < 5:
                problems.append(f"gap: no rule decides {name} when {_show(point)}")
            continue
        wins[matched[0].id] += 1
        by_priority: dict[int, list[str]] = {}
        for rule in matched:
            by_priority.setdefault(rule.priority, []).append(rule.id)
        for ids in by_priority.values():
            for pair in itertools.combinations(ids, 2):
                if pair not in overlaps:
                    overlaps.add(pair)
                    problems.append(
                        f"overlap: {pair[0]} and {pair[1]} share priority and both match"
                        f" when {_show(point)}"
                    )
    problems += [f"unreachable: {rid} never wins" for rid, count in wins.items() if count == 0]
    return DecisionReport(name, len(rules), points, wins, problems)


def _check_multi(
    name: str, rules: list[Rule], ruleset: RuleSet, earlier: set[str]
) -> DecisionReport:
    wins: dict[str, int] = {}
    points = 0
    for rule in rules:
        atoms = atoms_by_fact([rule])
        facts = sorted(atoms)
        domains = fact_domains(facts, atoms, ruleset, earlier)
        count = 0
        for combo in itertools.product(*domains):
            points += 1
            count += rule.condition(dict(zip(facts, combo, strict=True)))
        wins[rule.id] = count
    problems = [f"unreachable: {rid} never applies" for rid, count in wins.items() if count == 0]
    return DecisionReport(name, len(rules), points, wins, problems)


def _show(point: dict[str, Any]) -> str:
    return ", ".join(f"{key}={value!r}" for key, value in point.items())


def _run_cases(ruleset: RuleSet) -> tuple[list[str], int]:
    failures: list[str] = []
    count = 0
    for rule in ruleset.by_id.values():
        for case in rule.cases:
            count += 1
            problem = case_problem(rule, case.name, ruleset)
            if problem:
                failures.append(problem)
    return failures, count


def case_problem(rule: Rule, case_name: str, ruleset: RuleSet) -> str | None:
    """None when the named case of `rule` behaves as it says, else what went wrong."""
    case = next(c for c in rule.cases if c.name == case_name)
    where = f"{rule.id}_{case.name}"
    try:
        answers = validate_answers(case.answers, ruleset.questions, f"{rule.path} case {case.name}")
    except AdvisorError as exc:
        return f"{where}: {exc}"
    try:
        rec = recommend(answers, ruleset)
    except AdvisorError as exc:
        return f"{where}: {exc}"
    winner = rec.winner(rule.decision)
    fired = rule.id in winner if isinstance(winner, list) else winner == rule.id
    if fired != case.fires:
        verb = "should fire but" if case.fires else "should not fire but"
        return f"{where}: {verb} {rule.decision} was decided by {winner}"
    for decision, expected in case.expect.items():
        actual = rec.choice(decision)
        if actual != expected:
            rule_id = rec.winner(decision)
            return f"{where}: expected {decision}={expected}, got {actual} (rule {rule_id})"
    return None
