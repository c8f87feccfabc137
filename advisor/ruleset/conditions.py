"""`when` trees: all/any/not over atomic tests of one fact, compiled to closures.

A condition is data (from YAML); compiling it once keeps the engine and `rules check` fast.
Facts are answer ids and decision names (a decision's value is its choice).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Facts = Mapping[str, Any]
Predicate = Callable[[Facts], bool]

COMPARISONS = ("gt", "gte", "lt", "lte")
OPERATORS = ("eq", "ne", "in", "not_in", *COMPARISONS)


class ConditionError(ValueError):
    """A `when` tree that is not well formed."""


@dataclass(frozen=True)
class Atom:
    """One test of one fact, e.g. `{fact: model_parameters, gt: 1e9}`."""

    fact: str
    op: str
    value: Any  # a tuple, in file order, for in/not_in; None when comparing with `other`
    other: str | None = None  # `{fact: a, lte: {fact: b}}` compares two facts

    def __post_init__(self) -> None:
        members = self.value if self.op in ("in", "not_in") else ()
        hashable = all(isinstance(v, (str, bool, int, float)) for v in members)
        object.__setattr__(self, "_members", frozenset(members) if hashable else tuple(members))

    def test(self, actual: Any) -> bool:
        return self.compare(actual, self.value)

    def compare(self, actual: Any, value: Any) -> bool:
        op = self.op
        if op == "eq":
            return bool(actual == value)
        if op == "ne":
            return bool(actual != value)
        if op == "in":
            return actual in self._members  # type: ignore[attr-defined]
        if op == "not_in":
            return actual not in self._members  # type: ignore[attr-defined]
        if actual is None or value is None:
            return False
        if op == "gt":
            return bool(actual > value)
        if op == "gte":
            return bool(actual >= value)
        if op == "lt":
            return bool(actual < value)
        return bool(actual <= value)

    def describe(self) -> str:
        symbol = {"eq": "=", "ne": "!=", "in": "in", "not_in": "not in", "gt": ">", "gte": ">="}
        symbol |= {"lt": "<", "lte": "<="}
        value = self.other if self.other else self.value
        if isinstance(value, (list, tuple)):
            value = "[" + ", ".join(str(v) for v in value) + "]"
        return f"{self.fact} {symbol[self.op]} {value}"


@dataclass(frozen=True)
class Condition:
    """A compiled `when` tree."""

    source: Any
    predicate: Predicate
    atoms: tuple[Atom, ...]

    def __call__(self, facts: Facts) -> bool:
        return self.predicate(facts)

    @property
    def facts(self) -> set[str]:
        return {atom.fact for atom in self.atoms} | {a.other for a in self.atoms if a.other}

    def describe(self) -> str:
        return _describe(self.source)

    def tri(self, facts: Facts, known: set[str]) -> bool | None:
        """The condition in three-valued logic: None while it depends on a fact not yet known.

        The wizard uses it to tell a decision that no open question can change any more.
        """
        return _tri(self.source, facts, known)


def compile_condition(tree: Any) -> Condition:
    """Compile a `when` tree; None or `{}` is always true."""
    atoms: list[Atom] = []
    predicate = _compile(tree, atoms)
    return Condition(tree, predicate, tuple(atoms))


def _always(_facts: Facts) -> bool:
    return True


def _compile(tree: Any, atoms: list[Atom]) -> Predicate:
    if tree is None or tree == {}:
        return _always
    if not isinstance(tree, Mapping):
        raise ConditionError(f"a condition must be a mapping, got {tree!r}")
    if "all" in tree or "any" in tree:
        if len(tree) != 1:
            raise ConditionError(f"'all'/'any' must stand alone in its mapping: {dict(tree)!r}")
        key = "all" if "all" in tree else "any"
        items = tree[key]
        if not isinstance(items, list) or not items:
            raise ConditionError(f"'{key}' needs a non-empty list")
        parts = tuple(_compile(item, atoms) for item in items)
        if key == "all":
            return lambda facts: all(part(facts) for part in parts)
        return lambda facts: any(part(facts) for part in parts)
    if "not" in tree:
        if len(tree) != 1:
            raise ConditionError("'not' must stand alone in its mapping")
        inner = _compile(tree["not"], atoms)
        return lambda facts: not inner(facts)
    return _compile_atom(tree, atoms)


def _compile_atom(tree: Mapping[str, Any], atoms: list[Atom]) -> Predicate:
    fact = tree.get("fact")
    ops = [key for key in tree if key != "fact"]
    if not isinstance(fact, str) or len(ops) != 1 or ops[0] not in OPERATORS:
        raise ConditionError(
            f"an atomic test is {{fact: NAME, <op>: VALUE}} with op one of {', '.join(OPERATORS)};"
            f" got {dict(tree)!r}"
        )
    op = ops[0]
    value = tree[op]
    if isinstance(value, Mapping):  # another fact: {fact: search_points, lte: {fact: max_trials}}
        other = value.get("fact")
        if set(value) != {"fact"} or not isinstance(other, str) or op in ("in", "not_in"):
            raise ConditionError(f"compare with another fact as {{{op}: {{fact: NAME}}}}")
        relation = Atom(fact, op, None, other)
        atoms.append(relation)
        compare = relation.compare
        return lambda facts: compare(facts.get(fact), facts.get(other))
    if op in ("in", "not_in"):
        if not isinstance(value, list):
            raise ConditionError(f"'{op}' needs a list, got {value!r}")
        value = tuple(value)
    if op in COMPARISONS and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise ConditionError(f"'{op}' needs a number, got {value!r}")
    atom = Atom(fact, op, value)
    atoms.append(atom)
    test = atom.test
    return lambda facts: test(facts.get(fact))


def _tri(tree: Any, facts: Facts, known: set[str]) -> bool | None:
    if tree is None or tree == {}:
        return True
    if "all" in tree or "any" in tree:
        values = [_tri(item, facts, known) for item in tree.get("all") or tree.get("any")]
        decisive, other = (False, True) if "all" in tree else (True, False)
        if decisive in values:
            return decisive
        return other if all(v is other for v in values) else None
    if "not" in tree:
        value = _tri(tree["not"], facts, known)
        return None if value is None else not value
    atom = compile_condition(tree).atoms[0]
    if atom.fact not in known or (atom.other and atom.other not in known):
        return None
    if atom.other:
        return atom.compare(facts.get(atom.fact), facts.get(atom.other))
    return atom.test(facts.get(atom.fact))


def _describe(tree: Any) -> str:
    if tree is None or tree == {}:
        return "always"
    if "all" in tree:
        return " and ".join(_paren(item) for item in tree["all"])
    if "any" in tree:
        return " or ".join(_paren(item) for item in tree["any"])
    if "not" in tree:
        return "not " + _paren(tree["not"])
    atom = compile_condition(tree).atoms[0]
    return atom.describe()


def _paren(tree: Any) -> str:
    text = _describe(tree)
    return f"({text})" if ("all" in tree or "any" in tree) else text
