"""`advisor whatif`: which values of one answer flip which decisions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from advisor.engine.domains import LARGE, atoms_by_fact, numeric_points
from advisor.engine.evaluate import recommend
from advisor.errors import BadAnswers
from advisor.ruleset.rules import RuleSet


@dataclass
class Variation:
    value: Any
    changes: dict[str, tuple[Any, Any, str]]  # decision -> (base choice, new choice, winning rule)
    invalid: str | None = None


def candidate_values(question_id: str, ruleset: RuleSet) -> list[Any]:
    """Every value of a choice or bool; for numbers, one value each side of every rule threshold."""
    question = ruleset.questions.by_id[question_id]
    if question.type == "choice":
        return list(question.values)
    if question.type == "bool":
        return [False, True]
    if question.type in ("int", "float"):
        rules = [rule for rules in ruleset.rules.values() for rule in rules]
        atoms = atoms_by_fact(rules).get(question_id, [])
        points = numeric_points(atoms, question.type == "int", question.min, question.max)
        return [p for p in points if p < LARGE]
    raise BadAnswers(f"--vary {question_id}: a text answer has no values to vary")


def vary(
    answers: dict[str, Any], question_id: str, ruleset: RuleSet
) -> tuple[dict[str, Any], list[Variation]]:
    if question_id not in ruleset.questions.by_id:
        raise BadAnswers(f"--vary {question_id}: unknown question id")
    base = recommend(answers, ruleset)
    base_choices = _choices(base, ruleset)
    variations = []
    for value in candidate_values(question_id, ruleset):
        rec = recommend({**answers, question_id: value}, ruleset)
        changes = {
            name: (base_choices[name], choice, str(rec.winner(name)))
            for name, choice in _choices(rec, ruleset).items()
            if choice != base_choices[name]
        }
        variations.append(Variation(value, changes))
    return base_choices, variations


def _choices(rec: Any, ruleset: RuleSet) -> dict[str, Any]:
    return {d.name: rec.choice(d.name) for d in ruleset.decisions if d.kind == "single"}
