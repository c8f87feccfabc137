"""Why an option loses, in the story's terms: what the option needs and what the story says.

The learner's text names no rule and no priority (those are behind `--debug`, see solve.why_not),
and quotes a value only where the story states it: a fact the scenario does not give is a default
the learner never saw. Fact names come from rules/scenarios/_facts.yaml, value names from the
questions' and decisions' labels.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from advisor.quiz.bank import Bank
from advisor.quiz.solve import Option, Solution, candidate_rules, facts_at
from advisor.ruleset.conditions import Atom, compile_condition
from advisor.ruleset.rules import RuleSet

_MAX_LISTED = 4  # values of an `in` test named before "or another of them"
_NUMBER_WORDS = {
    "gt": "above",
    "gte": "at least",
    "lt": "below",
    "lte": "at most",
    "eq": "equal to",
    "ne": "other than",
}


def why_wrong(option: Option, solution: Solution, ruleset: RuleSet, bank: Bank) -> list[str]:
    """Why `option` is not the answer for this story, in domain language (one or two lines)."""
    dimension = solution.scenario.dimension
    winner = ruleset.by_id.get(str(solution.rule))
    rules, matched = candidate_rules(option, solution, ruleset)
    words = _Words(solution, ruleset, bank)
    lines: list[str] = []
    for rule in rules[:1]:
        if winner is not None and rule.id == winner.id:
            lines.append(
                "It is the right kind of answer, but not with these details: "
                + _lower_first(solution.because)
            )
        elif rule.id in matched and winner is not None:
            lines.append(
                "It suits part of this story, but another consideration comes first here: "
                + _lower_first(solution.because)
            )
        else:
            facts = facts_at(solution.rec, ruleset, dimension)
            parts = words.unmet(rule.when, facts)
            if parts:
                lines.append("It " + "; and it ".join(parts) + ".")
    if not lines:
        lines.append("Nothing in this story calls for it.")
    return lines


def _lower_first(text: str) -> str:
    word = text.split(" ")[0]
    return text[:1].lower() + text[1:] if word[1:] == word[1:].lower() else text


class _Words:
    """Conditions and the story's values, in words."""

    def __init__(self, solution: Solution, ruleset: RuleSet, bank: Bank) -> None:
        self.stated = set(solution.scenario.facts)
        self.ruleset = ruleset
        self.names = bank.fact_names
        self.questions = {q.id: q for q in ruleset.questions.questions}
        self.decisions = {d.name: d for d in ruleset.decisions}

    def name(self, fact: str) -> str:
        return self.names.get(fact, fact.replace("_", " "))

    def value(self, fact: str, value: Any) -> str:
        if fact in self.decisions:
            return self.decisions[fact].label(value)
        question = self.questions.get(fact)
        if question is not None and question.type == "choice":
            label = next((c.label for c in question.choices if c.value == value), "")
            return _lower_first(label) if label else str(value).replace("_", " ")
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return f"{value:,}"
        return str(value)

    def here(self, fact: str, facts: Mapping[str, Any]) -> str:
        """What the story says about `fact`: its value where stated, else that it is not stated."""
        actual = facts.get(fact)
        if fact in self.decisions:
            return f"here {self.name(fact)} is {self.value(fact, actual)}"
        if fact not in self.stated:
            return "which the story does not state"
        if isinstance(actual, bool):
            return "which this story has" if actual else "which this story does not have"
        return f"here it is {self.value(fact, actual)}"

    def atom(self, atom: Atom, facts: Mapping[str, Any]) -> str:
        name = self.name(atom.fact)
        if isinstance(atom.value, bool):
            wants = atom.value if atom.op == "eq" else not atom.value
            need = f"needs {name}" if wants else f"rules out {name}"
        elif atom.op in ("in", "not_in"):
            values = [self.value(atom.fact, v) for v in sorted(atom.value, key=str)]
            listed = ", ".join(values[:_MAX_LISTED])
            if len(values) > _MAX_LISTED:
                listed += " or another of them"
            verb = "to be one of" if atom.op == "in" else "to be none of"
            need = f"needs {name} {verb}: {listed}"
        elif isinstance(atom.value, (int, float)):
            need = f"needs {name} {_NUMBER_WORDS[atom.op]} {self.value(atom.fact, atom.value)}"
        else:
            verb = "to be" if atom.op == "eq" else "not to be"
            need = f"needs {name} {verb} {self.value(atom.fact, atom.value)}"
        return f"{need}; {self.here(atom.fact, facts)}"

    def unmet(self, tree: Any, facts: Mapping[str, Any]) -> list[str]:
        """The failing parts of a `when` tree, each as 'needs ..., here ...'."""
        if tree in (None, {}) or compile_condition(tree)(facts):
            return []
        if "all" in tree:
            return [part for item in tree["all"] for part in self.unmet(item, facts)]
        if "any" in tree:
            options = [" and ".join(self.unmet(item, facts)) for item in tree["any"]]
            return ["fits only in one of these cases: " + "; or ".join(o for o in options if o)]
        if "not" in tree:
            inner = compile_condition(tree["not"])
            return [
                "does not fit when "
                + " and ".join(self.atom(a, facts).split("; ")[0][6:] for a in inner.atoms)
            ]
        return [self.atom(compile_condition(tree).atoms[0], facts)]
