"""The answer space the rules split: the facts a rule reads and the points that tell them apart.

`rules check` proves the rule set over these points, `whatif` varies an answer across them and
the quiz picks neighbouring answers from them; one definition keeps the three in agreement.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from advisor.errors import AdvisorError
from advisor.ruleset.conditions import Atom
from advisor.ruleset.rules import Rule, RuleSet

# The upper bound of a number question that has none.
LARGE = 10**12


def atoms_by_fact(rules: Iterable[Rule]) -> dict[str, list[Atom]]:
    """Atoms by the fact they test; an atom comparing two facts is listed under both."""
    atoms: dict[str, list[Atom]] = {}
    for rule in rules:
        for atom in rule.condition.atoms:
            atoms.setdefault(atom.fact, []).append(atom)
            if atom.other:
                atoms.setdefault(atom.other, []).append(atom)
    return atoms


def atom_values(atom: Atom) -> list[Any]:
    """The constants an atom compares its fact with (none when it compares two facts)."""
    if atom.other:
        return []
    return list(atom.value) if atom.op in ("in", "not_in") else [atom.value]


def numeric_points(
    atoms: list[Atom],
    integer: bool,
    low: float | None,
    high: float | None,
    extra: set[float] | None = None,
) -> list[Any]:
    """The bounds, and a point just below, at and just above every threshold the atoms use."""
    thresholds = {
        float(v) for atom in atoms for v in atom_values(atom) if isinstance(v, (int, float))
    }
    thresholds |= extra or set()
    low = 0.0 if low is None else low
    high = float(LARGE) if high is None else high
    points = {low, high}
    for t in thresholds:
        delta = 1.0 if integer else max(abs(t), 1.0) * 1e-6
        points |= {t - delta, t, t + delta}
    cast = int if integer else float
    return sorted({cast(p) for p in points if low <= p <= high})


def fact_domains(
    facts: list[str], atoms: dict[str, list[Atom]], ruleset: RuleSet, earlier: set[str]
) -> list[list[Any]]:
    """A domain per fact. Facts compared with each other get the partner's points as
    thresholds too (and no class reduction), so both outcomes of every comparison occur."""
    plain = {fact: [a for a in atoms[fact] if a.other is None] for fact in facts}
    base = {fact: fact_domain(fact, plain[fact], ruleset, earlier) for fact in facts}
    domains = dict(base)
    for fact in facts:
        partners = {a.other if a.fact == fact else a.fact for a in atoms[fact] if a.other}
        if partners:
            extra = {
                float(v)
                for partner in partners
                for v in base[partner]
                if isinstance(v, (int, float)) and not isinstance(v, bool)
            }
            domains[fact] = fact_domain(fact, plain[fact], ruleset, earlier, extra, reduce=False)
    return [domains[fact] for fact in facts]


def fact_domain(
    fact: str,
    atoms: list[Atom],
    ruleset: RuleSet,
    earlier: set[str],
    extra: set[float] | None = None,
    reduce: bool = True,
) -> list[Any]:
    """Representative values of one fact: one per class the atoms can tell apart."""
    question = ruleset.questions.by_id.get(fact)
    if fact in earlier:  # a decision reached before this one: its choice
        candidates: list[Any] = list(ruleset.decision(fact).choices)
    elif question is None:
        raise AdvisorError(f"rules read '{fact}' before it is decided", exit_code=1)
    elif question.type == "choice":
        candidates = question.values
    elif question.type == "bool":
        candidates = [False, True]
    elif question.type in ("int", "float"):
        integer = question.type == "int"
        candidates = numeric_points(atoms, integer, question.min, question.max, extra)
    else:
        mentioned = {v for atom in atoms for v in atom_values(atom)}
        candidates = sorted(mentioned, key=str) + ["\x00other"]
    if not reduce:
        return candidates
    classes: dict[tuple[bool, ...], Any] = {}
    for value in candidates:
        classes.setdefault(tuple(atom.test(value) for atom in atoms), value)
    return list(classes.values())
