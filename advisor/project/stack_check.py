"""`rules check`, the stack part: every reachable recommendation selects exactly one stack.

The decisions a stack's `when` reads are enumerated in evaluation order: each one over the values
its earlier decisions can reach and the domains (advisor/engine/domains.py) of the answers its
rules read. That over-approximates what the engine can produce (two decisions reading one answer
are enumerated independently), so a mapping with no gap and no overlap here has none in use.
Each stack's manifest is loaded (its layers must exist), its derived facts are checked by name,
its example must select it, and its serving image must run its training pin (serving_check).
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from advisor.engine.check import DecisionReport
from advisor.engine.domains import atoms_by_fact, fact_domain
from advisor.errors import AdvisorError
from advisor.paths import templates_dir
from advisor.project.context import BUILTINS, check_fact_names, load_context_facts, parse_facts
from advisor.project.serving_check import serving_problems
from advisor.project.stacks import Stack, load_stacks, matching_stacks, stack_facts
from advisor.ruleset.expressions import lookup_in
from advisor.ruleset.rules import RuleSet, rule_dependencies

# Gaps and overlaps shown per check; the count of points says how many there were.
SHOWN = 5


def check_stack_mapping(ruleset: RuleSet, root: Path | None = None) -> DecisionReport:
    root = root or templates_dir()
    problems: list[str] = []
    try:
        stacks = load_stacks(root)
    except AdvisorError as exc:
        return DecisionReport("stack", 0, 0, {}, [str(exc)])
    problems += _check_definitions(stacks, ruleset, root)
    wins = {stack.name: 0 for stack in stacks}
    points = 0
    for point in reachable_points(_read_by(stacks, ruleset), ruleset):
        points += 1
        matched = matching_stacks(point, stacks)
        shown = ", ".join(f"{key}={value!r}" for key, value in sorted(point.items()))
        if not matched and len(problems) < SHOWN:
            problems.append(f"gap: no stack fits {shown}")
        elif len(matched) > 1 and len(problems) < SHOWN:
            names = " and ".join(stack.name for stack in matched)
            problems.append(f"overlap: {names} both fit {shown}")
        if len(matched) == 1:
            wins[matched[0].name] += 1
    problems += [f"unreachable: stack {name} never selected" for name, n in wins.items() if not n]
    return DecisionReport("stack", len(stacks), points, wins, problems)


def _read_by(stacks: list[Stack], ruleset: RuleSet) -> set[str]:
    return {fact for stack in stacks for fact in stack.when.facts}


def reachable_points(facts: set[str], ruleset: RuleSet) -> list[dict[str, Any]]:
    """Every combination of the decisions in `facts` (and the answers in it) the rules reach."""
    decisions = set(ruleset.decision_names)
    needed = {f for f in facts if f in decisions}
    todo = list(needed)
    while todo:  # the earlier decisions the needed ones read
        for rule in ruleset.rules[todo.pop()]:
            for name in rule_dependencies(rule):
                if name in decisions and name not in needed:
                    needed.add(name)
                    todo.append(name)
    answers = sorted(f for f in facts if f not in decisions)
    all_atoms = atoms_by_fact(r for name in needed for r in ruleset.rules[name])
    points: list[dict[str, Any]] = [
        dict(zip(answers, combo, strict=True))
        for combo in itertools.product(
            *(fact_domain(a, all_atoms.get(a, []), ruleset, set()) for a in answers)
        )
    ]
    for index, decision in enumerate(ruleset.decision_names):
        if decision not in needed:
            continue
        # a name is a decision's choice once that decision is made, before it the answer
        earlier = set(ruleset.decision_names[:index])
        rules = ruleset.rules[decision]
        atoms = atoms_by_fact(rules)
        # an answer a `choice` expression copies takes every value, not one per class
        copied = {
            name.partition(".")[0]
            for rule in rules
            if "choice" in rule.expressions
            for name in rule.expressions["choice"].names
        }
        read = sorted(f for f in set(atoms) | copied if f not in earlier)
        domains = [
            fact_domain(
                f,
                [a for a in atoms.get(f, []) if a.other is None],
                ruleset,
                set(),
                reduce=f not in copied,
            )
            for f in read
        ]
        seen: dict[tuple[Any, ...], dict[str, Any]] = {}
        for point in points:
            for combo in itertools.product(*domains):
                facts_here = {**point, **dict(zip(read, combo, strict=True))}
                winner = next((r for r in rules if r.condition(facts_here)), None)
                if winner is None:  # a gap in the rules themselves: the rules' check reports it
                    continue
                new = {**point, decision: _choice(winner, facts_here)}
                seen.setdefault(tuple(sorted(new.items())), new)
        points = list(seen.values())
    keep = set(facts)
    unique = {tuple(sorted((k, v) for k, v in p.items() if k in keep)): p for p in points}
    return [{k: v for k, v in p.items() if k in keep} for p in unique.values()]


def _choice(rule: Any, facts: dict[str, Any]) -> Any:
    """The choice a rule makes at a point (a `choice` expression is evaluated there)."""
    expression = rule.expressions.get("choice")
    if expression is None:
        return rule.choice
    return expression.evaluate(lookup_in(facts))


def _check_definitions(stacks: list[Stack], ruleset: RuleSet, root: Path) -> list[str]:
    """Derived facts read only known names; only_if names a fact; examples select their stack;
    the serving image runs the training pin's framework version (serving_check)."""
    problems: list[str] = []
    known = set(ruleset.questions.by_id) | set(ruleset.decision_names) | BUILTINS
    try:
        shared = check_fact_names(load_context_facts(root), known, str(root / "context.yaml"))
    except AdvisorError as exc:
        return [str(exc)]
    for stack in stacks:
        facts = set(shared)
        try:
            for layer in stack.overlay:
                facts = check_fact_names(
                    parse_facts(layer.facts, str(layer.folder)), facts, stack.name
                )
        except AdvisorError as exc:
            problems.append(f"stack {stack.name}: {exc}")
            continue
        for layer in stack.overlay:
            for glob, fact in layer.only_if.items():
                if fact not in facts:
                    problems.append(
                        f"{layer.folder}: only_if '{glob}' names '{fact}', which is not a derived"
                        f" fact of stack {stack.name}"
                    )
        for fact in stack.when.facts:
            if fact not in ruleset.questions.by_id and fact not in ruleset.decision_names:
                problems.append(
                    f"stack {stack.name}: when reads '{fact}', not an answer or decision"
                )
        problems += _check_example(stack, ruleset, root)
        if ruleset.catalogue is not None:
            problems += serving_problems(stack, ruleset.catalogue.containers)
    return problems


def _check_example(stack: Stack, ruleset: RuleSet, root: Path) -> list[str]:
    if stack.example is None:
        return []
    from advisor.answers import read_answers_file
    from advisor.engine import recommend
    from advisor.ruleset.questions import validate_answers

    path = root.parent / stack.example
    if not path.is_file():
        return [f"stack {stack.name}: example {stack.example} does not exist"]
    try:
        answers = validate_answers(read_answers_file(path), ruleset.questions, str(path))
        rec = recommend(answers, ruleset)
    except AdvisorError as exc:  # a rule set with a gap: reported by its own check too
        return [f"stack {stack.name}: example {stack.example}: {exc}"]
    names = [s.name for s in matching_stacks(stack_facts(rec), [stack])]
    return [] if names else [f"stack {stack.name}: its example {stack.example} selects another"]
