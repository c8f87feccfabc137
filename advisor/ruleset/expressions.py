"""Small, safe arithmetic for rule outputs: a `then` value that starts with `=` is an expression.

Examples: `replica_count: "=min(max_machines, 4)"`,
`total_usd: "=hourly_usd * expected_training_hours"`.
Names resolve to the rule's own earlier outputs, then answers, then decisions (`hardware` is the
hardware choice, `hardware.replica_count` one of its fields). Only the node types below are allowed,
so a rule file cannot run arbitrary code; `**` and repeating a list are bounded, so it cannot
take all CPU or memory either.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


class ExpressionError(ValueError):
    """An expression that cannot be parsed or evaluated."""


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "min": min,
    "max": max,
    "round": round,
    "int": int,
    "float": float,
    "clamp": _clamp,
}


def _power(base: Any, exponent: Any) -> Any:
    # Bounded: `9**9**9` would take all CPU and memory; no figure needs an exponent over 100.
    if isinstance(exponent, (int, float)) and abs(exponent) > 100:
        raise ExpressionError(f"exponent {exponent!r} is too large (at most 100)")
    return operator.pow(base, exponent)


def _times(left: Any, right: Any) -> Any:
    # Bounded: `[1] * 10**9` would build a billion-item list.
    for sequence, count in ((left, right), (right, left)):
        if isinstance(sequence, (list, str)) and isinstance(count, int) and count > 1000:
            raise ExpressionError(f"repeating a list or text {count} times (at most 1000)")
    return operator.mul(left, right)


_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: _times,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: _power,
}
_COMPARE: dict[type, Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}


@dataclass(frozen=True)
class Expression:
    """A parsed expression; `names` lists what it reads (dotted for decision fields)."""

    text: str
    tree: ast.expr
    names: frozenset[str]

    def evaluate(self, lookup: Callable[[str], Any]) -> Any:
        try:
            return _eval(self.tree, lookup)
        except ExpressionError:
            raise
        except Exception as exc:  # arithmetic on a missing value, division by zero, ...
            raise ExpressionError(f"'{self.text}': {exc}") from exc


def is_expression(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("=")


def parse_expression(text: str) -> Expression:
    body = text[1:] if text.startswith("=") else text
    try:
        tree = ast.parse(body.strip(), mode="eval").body
    except SyntaxError as exc:
        raise ExpressionError(f"'{text}' is not a valid expression: {exc.msg}") from exc
    names: set[str] = set()
    _check(tree, names)
    return Expression(text, tree, frozenset(names))


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def _check(node: ast.expr, names: set[str]) -> None:
    if isinstance(node, ast.Constant):
        return
    if isinstance(node, (ast.Name, ast.Attribute)):
        dotted = _dotted(node)
        if dotted is None or dotted.count(".") > 1:
            raise ExpressionError("only NAME or DECISION.FIELD may be read")
        names.add(dotted)
        return
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        _check(node.left, names)
        _check(node.right, names)
        return
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.Not)):
        _check(node.operand, names)
        return
    if isinstance(node, ast.BoolOp):
        for value in node.values:
            _check(value, names)
        return
    if isinstance(node, ast.Compare) and all(type(op) in _COMPARE for op in node.ops):
        for part in (node.left, *node.comparators):
            _check(part, names)
        return
    if isinstance(node, ast.IfExp):
        for part in (node.test, node.body, node.orelse):
            _check(part, names)
        return
    if isinstance(node, (ast.List, ast.Tuple)):
        for element in node.elts:
            _check(element, names)
        return
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in FUNCTIONS
        and not node.keywords
    ):
        for arg in node.args:
            _check(arg, names)
        return
    raise ExpressionError(f"'{ast.unparse(node)}' is not allowed in a rule expression")


def _eval(node: ast.expr, lookup: Callable[[str], Any]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.Name, ast.Attribute)):
        return lookup(_dotted(node) or "")
    if isinstance(node, ast.BinOp):
        return _BINARY[type(node.op)](_eval(node.left, lookup), _eval(node.right, lookup))
    if isinstance(node, ast.UnaryOp):
        operand = _eval(node.operand, lookup)
        return -operand if isinstance(node.op, ast.USub) else not operand
    if isinstance(node, ast.BoolOp):
        is_and = isinstance(node.op, ast.And)
        result: Any = None
        for value in node.values:
            result = _eval(value, lookup)
            if bool(result) != is_and:
                return result
        return result
    if isinstance(node, ast.Compare):
        left = _eval(node.left, lookup)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = _eval(right_node, lookup)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.IfExp):
        branch = node.body if _eval(node.test, lookup) else node.orelse
        return _eval(branch, lookup)
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_eval(element, lookup) for element in node.elts]
    assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    return FUNCTIONS[node.func.id](*(_eval(arg, lookup) for arg in node.args))


def lookup_in(*scopes: Mapping[str, Any]) -> Callable[[str], Any]:
    """A name resolver over scopes tried in order; dotted names read a field of a mapping."""

    def lookup(name: str) -> Any:
        head, _, field = name.partition(".")
        for scope in scopes:
            if head in scope:
                value = scope[head]
                if not field:
                    # a decision's output stands for its choice
                    if isinstance(value, Mapping) and "choice" in value:
                        return value["choice"]
                    return value
                if isinstance(value, Mapping) and field in value:
                    return value[field]
                raise ExpressionError(f"'{head}' has no field '{field}'")
        raise ExpressionError(f"unknown name '{name}'")

    return lookup
