"""The rules engine: answers in, a Recommendation (decisions, tips, cost, trace) out.

Decisions are evaluated in dependency order. For a single-choice decision the matching rule
with the lowest priority wins; for a multi decision (tips) every matching rule contributes.
Nothing here knows a rule or question by name: all of that is in rules/.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from advisor.engine.prose import in_sentence
from advisor.engine.sizing import size_automl, size_hardware
from advisor.errors import BadRuleFile
from advisor.ruleset import default_ruleset
from advisor.ruleset.expressions import ExpressionError, is_expression, lookup_in
from advisor.ruleset.questions import validate_answers
from advisor.ruleset.rules import Decision, Rule, RuleSet

_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_.]*)\}")
_SNAKE = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)+$")


@dataclass
class Recommendation:
    answers: dict[str, Any]
    decisions: dict[str, dict[str, Any]]
    trace: list[dict[str, Any]]
    top: dict[str, Any] = field(default_factory=dict)

    def choice(self, decision: str) -> Any:
        output = self.decisions.get(decision) or self.top.get(decision)
        if isinstance(output, Mapping):
            return output.get("choice")
        return output

    def winner(self, decision: str) -> str | list[str] | None:
        """The id of the rule that decided (a list of ids for a multi decision)."""
        for step in self.trace:
            if step["decision"] == decision:
                winner: str | list[str] = step["winner"]
                return winner
        return None

    def to_json(self) -> dict[str, Any]:
        return {"decisions": self.decisions, **self.top, "trace": self.trace}


def recommend(answers: Mapping[str, Any], ruleset: RuleSet | None = None) -> Recommendation:
    """Run every decision over validated answers (all ids present, defaults filled)."""
    ruleset = ruleset or default_ruleset()
    facts: dict[str, Any] = dict(answers)
    outputs: dict[str, Any] = {}
    decisions: dict[str, dict[str, Any]] = {}
    top: dict[str, Any] = {}
    trace: list[dict[str, Any]] = []
    for decision in ruleset.decisions:
        rules = ruleset.rules[decision.name]
        matched = [rule for rule in rules if rule.condition(facts)]
        if decision.kind == "multi":
            result: Any = [_tip(rule, facts, outputs, ruleset) for rule in matched]
            winner: Any = [rule.id for rule in matched]
        else:
            if not matched:
                raise BadRuleFile(
                    f"no rule of '{decision.name}' matches these answers; run `advisor rules check`"
                )
            best = matched[0]
            result = _output(best, facts, outputs, ruleset, decision.sizing)
            winner = best.id
            facts[decision.name] = result["choice"]
        outputs[decision.name] = result
        (top if decision.output == "top" else decisions)[decision.name] = result
        trace.append(_trace_step(decision, rules, matched, winner))
    return Recommendation(dict(answers), decisions, trace, top)


def recommend_raw(
    raw: Mapping[str, Any], origin: str, ruleset: RuleSet | None = None
) -> Recommendation:
    """Validate raw answers (naming `origin` in errors), then recommend."""
    ruleset = ruleset or default_ruleset()
    return recommend(validate_answers(raw, ruleset.questions, origin), ruleset)


def _evaluate_then(
    rule: Rule, facts: Mapping[str, Any], outputs: Mapping[str, Any]
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    lookup = lookup_in(values, outputs, facts)
    for key, raw in rule.then.items():
        if key == "limits":
            continue
        try:
            values[key] = rule.expressions[key].evaluate(lookup) if is_expression(raw) else raw
        except ExpressionError as exc:
            raise BadRuleFile(f"{rule.path}: rule {rule.id}: then.{key}: {exc}") from None
    return values


def _apply_limits(rule: Rule, values: dict[str, Any]) -> list[str]:
    """Clamp outputs to `then.limits` (API limits), saying so in a warning."""
    warnings = []
    for key, (low, high) in (rule.then.get("limits") or {}).items():
        value = values.get(key)
        if isinstance(value, (int, float)) and not low <= value <= high:
            clamped = type(value)(max(low, min(high, value)))
            warnings.append(
                f"{key} {value} is outside the API's range {low}..{high}; using {clamped}"
            )
            values[key] = clamped
    return warnings


def _fill(text: str, scopes: list[Mapping[str, Any]], ruleset: RuleSet) -> str:
    """`text` with each `{name}` replaced by its value; a choice reads as its label."""
    lookup = lookup_in(*scopes)

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        try:
            value = lookup(name)
        except ExpressionError:
            return match.group(0)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, str):
            head = name.split(".")[0]
            own = head in scopes[0]  # a value the rule computed itself has no label
            label = value if own or "." in name else ruleset.label(head, value)
            if label == value and _SNAKE.match(value):
                label = value.replace("_", " ")  # an id without a label still reads as words
            return in_sentence(label, text[: match.start()])
        return (
            f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)
        )

    return _PLACEHOLDER.sub(replace, text)


def _size(
    step: str | None, values: dict[str, Any], facts: Mapping[str, Any], ruleset: RuleSet
) -> dict[str, Any]:
    """The decision's catalogue step (decisions.yaml `sizing`), before its reason is written."""
    if step is None or ruleset.catalogue is None:
        values.pop("size", None)
        return values
    if step == "machines":
        return size_hardware(values, facts, ruleset.catalogue)
    return size_automl(values, ruleset.catalogue)


def _output(
    rule: Rule,
    facts: Mapping[str, Any],
    outputs: Mapping[str, Any],
    ruleset: RuleSet,
    sizing: str | None = None,
) -> dict[str, Any]:
    values = _evaluate_then(rule, facts, outputs)
    extra = [
        _fill(text, [values, outputs, facts], ruleset)
        for text in values.pop("warnings", None) or []
    ]
    warnings = _apply_limits(rule, values) + extra
    values = _size(sizing, values, facts, ruleset)  # after the API limits: it prices the result
    warnings += values.pop("warnings", None) or []
    because = _fill(rule.because.strip(), [values, outputs, facts], ruleset)
    result = {"choice": values.pop("choice"), "rule": rule.id, "because": because}
    result["source"] = rule.source
    result.update(values)
    if warnings:
        result["warnings"] = warnings
    return result


def _tip(
    rule: Rule, facts: Mapping[str, Any], outputs: Mapping[str, Any], ruleset: RuleSet
) -> dict[str, Any]:
    values = _evaluate_then(rule, facts, outputs)
    text = _fill(rule.because.strip(), [values, outputs, facts], ruleset)
    return {"id": values.get("tip", rule.id), "text": text, "rule": rule.id, "source": rule.source}


def _trace_step(
    decision: Decision, rules: list[Rule], matched: list[Rule], winner: Any
) -> dict[str, Any]:
    matched_ids = {rule.id for rule in matched}
    return {
        "decision": decision.name,
        "winner": winner,
        "considered": [
            {"rule": rule.id, "priority": rule.priority, "matched": rule.id in matched_ids}
            for rule in rules
        ],
    }
