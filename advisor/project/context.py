"""Derived facts: values every template reads, computed once from the recommendation.

`templates/context.yaml` defines the shared ones; a layer's `layer.yaml` and a stack's manifest
may add their own under `facts:`. A fact is a rule expression (`"=hardware in ['tpu']"`) or a
table (`{lookup: task, table: {...}, default: ...}` whose values may be expressions). Names
resolve to earlier facts, then answers, then decisions (`hardware` is the choice,
`hardware.replica_count` a field; a field the decision does not set reads as None), then
`tip_ids`. Every name is checked when the definitions are loaded, as rules are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from advisor.errors import BadRuleFile
from advisor.ruleset.expressions import (
    Expression,
    ExpressionError,
    is_expression,
    lookup_in,
    parse_expression,
)
from advisor.ruleset.yamlio import load_yaml_file

CONTEXT_FILE = "context.yaml"
BUILTINS = {"tip_ids"}


@dataclass(frozen=True)
class Fact:
    name: str
    expression: Expression | None = None  # a computed fact
    lookup: str | None = None  # or a table over one name
    table: Mapping[Any, Any] | None = None
    default: Any = None

    def names(self) -> set[str]:
        if self.expression is not None:
            return set(self.expression.names)
        names = {self.lookup or ""}
        for value in [*(self.table or {}).values(), self.default]:
            if is_expression(value):
                names |= set(parse_expression(value).names)
        return names

    def evaluate(self, lookup: Any) -> Any:
        if self.expression is not None:
            return self.expression.evaluate(lookup)
        value = (self.table or {}).get(lookup(self.lookup), self.default)
        return parse_expression(value).evaluate(lookup) if is_expression(value) else value


class _Fields(dict):  # type: ignore[type-arg]
    """A decision's outputs where a field it does not set reads as None."""

    def __contains__(self, key: object) -> bool:
        return True

    def __missing__(self, key: str) -> None:
        return None


def parse_facts(data: Any, where: str) -> list[Fact]:
    if data is None:
        return []
    if not isinstance(data, Mapping):
        raise BadRuleFile(f"{where}: 'facts' must map a name to an expression or a lookup table")
    facts = []
    for name, spec in data.items():
        at = f"{where}: fact '{name}'"
        try:
            if is_expression(spec):
                facts.append(Fact(name, expression=parse_expression(spec)))
            elif isinstance(spec, Mapping) and set(spec) <= {"lookup", "table", "default"}:
                lookup, table = spec.get("lookup"), spec.get("table")
                if not isinstance(lookup, str) or not isinstance(table, Mapping):
                    raise BadRuleFile(f"{at}: a lookup needs 'lookup: NAME' and a 'table' mapping")
                fact = Fact(name, lookup=lookup, table=dict(table), default=spec.get("default"))
                fact.names()  # parses the table's expressions
                facts.append(fact)
            else:
                raise BadRuleFile(
                    f"{at}: expected an expression starting with '=' or"
                    " {lookup: NAME, table: {...}, default: ...}"
                )
        except ExpressionError as exc:
            raise BadRuleFile(f"{at}: {exc}") from None
    return facts


def load_context_facts(root: Path) -> list[Fact]:
    path = root / CONTEXT_FILE
    data = load_yaml_file(path, BadRuleFile)
    if not isinstance(data, Mapping) or set(data) - {"facts"}:
        raise BadRuleFile(f"{path}: expected a mapping with one field, 'facts'")
    return parse_facts(data.get("facts"), str(path))


def check_fact_names(facts: Iterable[Fact], known: set[str], where: str) -> set[str]:
    """Every name a fact reads is known (an answer, a decision, a builtin or an earlier fact),
    and no fact shadows one; returns `known` with the facts added."""
    known = set(known)
    for fact in facts:
        if fact.name in known:
            raise BadRuleFile(
                f"{where}: fact '{fact.name}' is already defined (or is an answer or a decision)"
            )
        for name in fact.names():
            if name.partition(".")[0] not in known:
                raise BadRuleFile(
                    f"{where}: fact '{fact.name}' reads '{name}', which is not an answer,"
                    " a decision or an earlier fact"
                )
        known.add(fact.name)
    return known


def evaluate_facts(facts: Iterable[Fact], rec: Any, tips: list[Any]) -> dict[str, Any]:
    """The facts' values for one recommendation, in definition order."""
    values: dict[str, Any] = {}
    decisions = {name: _Fields(out) for name, out in rec.decisions.items()}
    extra = {"tip_ids": [tip["id"] for tip in tips]}
    lookup = lookup_in(values, rec.answers, decisions, extra)
    for fact in facts:
        try:
            values[fact.name] = fact.evaluate(lookup)
        except ExpressionError as exc:
            raise BadRuleFile(f"template fact '{fact.name}': {exc}") from None
    return values
