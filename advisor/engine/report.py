"""A recommendation as a person reads it: key figures, one decision's trace, the design note.

Everything here is text without terminal styling, so the CLI (which adds colour and wraps to the
terminal) and a generated project's README (which embeds the Markdown design note) share it.
Nothing names a rule, a question or a decision: labels, titles and fields come from the rule set.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from advisor.engine.evaluate import Recommendation
from advisor.ruleset.conditions import compile_condition
from advisor.ruleset.rules import Decision, Rule, RuleSet

# The fields every decision has; the rest of its output are its figures.
STANDARD_FIELDS = frozenset({"choice", "rule", "because", "source", "warnings"})


@dataclass
class DecisionView:
    """One single-choice decision as it is shown: its title, the choice's label, its figures."""

    name: str
    title: str
    choice: Any
    label: str
    figures: list[tuple[str, str]]
    output: dict[str, Any]
    # nested records (the sizing arithmetic, the exam's answer): shown with the reasons, not in
    # the one-line summary, which they would swamp
    records: list[tuple[str, str]] = field(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        return list(self.output.get("warnings") or [])

    def figures_text(self) -> str:
        return ", ".join(f"{name} {value}" for name, value in self.figures)


def field_name(key: str) -> str:
    """A field id as words: `machine_type` reads "machine type", `hourly_usd` "hourly"."""
    words = key.split("_")
    if len(words) > 1 and words[-1] == "usd":
        words = words[:-1]
    return " ".join(words)


def figure_value(key: str, value: Any, decision: Decision) -> str:
    """One field's value as text; a choice id of the same decision reads as its label."""
    if isinstance(value, list):
        return " + ".join(figure_value(key, item, decision) for item in value)
    if isinstance(value, dict):  # a nested record (a catalogue entry): its fields in brackets
        inner = [
            f"{field_name(str(k))} {figure_value(str(k), v, decision)}"
            for k, v in value.items()
            if v not in (None, "", [], {})
        ]
        return "(" + ", ".join(inner) + ")"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if key.endswith("_usd") and isinstance(value, (int, float)):
        return "$" + _number(value, money=True)
    if isinstance(value, (int, float)):
        return _number(value)
    if isinstance(value, str) and value in decision.choices:
        return decision.label(value)
    return str(value)


def _number(value: float, money: bool = False) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.2f}" if money else f"{value:,}"


def figures(
    output: dict[str, Any], decision: Decision, nested: bool | None = None
) -> list[tuple[str, str]]:
    """The fields of a decision beyond the standard ones, as (name, value) text pairs.

    Empty, false and zero values are left out (a CPU's accelerator count), and so is a field
    that repeats the choice. `nested` keeps only the record fields (True) or only the flat ones
    (False); None keeps both.
    """
    pairs = []
    for key, value in output.items():
        if key in STANDARD_FIELDS or value in (None, "", [], False, 0) or value == output["choice"]:
            continue
        if nested is not None and isinstance(value, dict) != nested:
            continue
        pairs.append((field_name(key), figure_value(key, value, decision)))
    return pairs


def decision_views(rec: Recommendation, ruleset: RuleSet) -> list[DecisionView]:
    """Every single-choice decision of the recommendation, in evaluation order."""
    views = []
    for decision in ruleset.decisions:
        if decision.kind == "multi":
            continue
        output = rec.decisions.get(decision.name) or rec.top.get(decision.name)
        if not isinstance(output, dict):
            continue
        choice = output.get("choice")
        views.append(
            DecisionView(
                decision.name,
                decision.title,
                choice,
                decision.label(choice),
                figures(output, decision, nested=False),
                output,
                [(k, v[1:-1]) for k, v in figures(output, decision, nested=True)],
            )
        )
    return views


def tips(rec: Recommendation, ruleset: RuleSet) -> list[dict[str, Any]]:
    """Every contribution of the multi decisions (tips), in evaluation order."""
    found: list[dict[str, Any]] = []
    for decision in ruleset.decisions:
        if decision.kind == "multi":
            items = rec.decisions.get(decision.name) or rec.top.get(decision.name) or []
            found += [item for item in items if isinstance(item, dict)]
    return found


def find_decision(name: str, ruleset: RuleSet) -> Decision | None:
    """A decision by its name or its title, ignoring case, dashes and spaces."""

    def key(text: str) -> str:
        return re.sub(r"[\s_-]+", "", text.lower())

    for decision in ruleset.decisions:
        if key(name) in (key(decision.name), key(decision.title)):
            return decision
    return None


# ---- one decision's trace ----


@dataclass
class RuleVerdict:
    """What one rule of a decision did with these answers."""

    rule: Rule
    matched: bool
    won: bool
    why: str
    failed: list[str] = field(default_factory=list)


def facts_of(rec: Recommendation, ruleset: RuleSet) -> dict[str, Any]:
    """The facts the rules read: the answers, and each decision reached as its choice."""
    facts = dict(rec.answers)
    for decision in ruleset.decisions:
        if decision.kind != "multi":
            choice = rec.choice(decision.name)
            if choice is not None:
                facts[decision.name] = choice
    return facts


def explain(rec: Recommendation, decision: Decision, ruleset: RuleSet) -> list[RuleVerdict]:
    """Each rule of `decision` in priority order: whether it matched, won, and why not.

    A decision's rules read the facts as they stood when it was decided: the answers and the
    decisions before it (a later decision's choice is left out).
    """
    order = ruleset.decision_names
    earlier = set(order[: order.index(decision.name)])
    facts = {
        key: value
        for key, value in facts_of(rec, ruleset).items()
        if key not in order or key in earlier
    }
    step = next((s for s in rec.trace if s["decision"] == decision.name), None)
    winners = step["winner"] if step else []
    winners = winners if isinstance(winners, list) else [winners]
    matched_ids = {c["rule"] for c in (step or {}).get("considered", []) if c["matched"]}
    winner_rule = ruleset.by_id.get(winners[0]) if winners and decision.kind != "multi" else None
    verdicts = []
    for rule in ruleset.rules[decision.name]:
        matched = rule.id in matched_ids
        won = rule.id in winners
        if won:
            why = "matched and decided" if decision.kind != "multi" else "matched: it applies"
            failed: list[str] = []
        elif matched and winner_rule is not None:
            why = (
                f"matched, but {winner_rule.id} comes first"
                f" (priority {winner_rule.priority} before {rule.priority})"
            )
            failed = []
        else:
            failed = list(failed_tests(rule.condition.source, facts))
            why = "did not match"
        verdicts.append(RuleVerdict(rule, matched, won, why, failed))
    return verdicts


def failed_tests(tree: Any, facts: dict[str, Any]) -> Iterator[str]:
    """The parts of a `when` tree that are false for `facts`, each with the facts it read."""
    if not tree:
        return
    if "all" in tree:
        for item in tree["all"]:
            yield from failed_tests(item, facts)
        return
    condition = compile_condition(tree)
    if condition(facts):
        return
    read = ", ".join(f"{fact} is {facts.get(fact)!r}" for fact in sorted(condition.facts))
    yield f"{condition.describe()} (here {read})"


# ---- the Markdown design note ----


def _escape(text: str) -> str:
    """Prose as literal Markdown text: no accidental emphasis, code, links or HTML."""
    text = re.sub(r"([\\`*\[\]<>|#])", r"\\\1", text)
    return re.sub(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])", r"\\_", text)


def _cell(text: str) -> str:
    return _escape(text).replace("\n", " ")


def exam_answer(rule: Rule, ruleset: RuleSet) -> tuple[str, Rule] | None:
    """The guide's (the exam's) choice that `rule` refines, with the guide rule; None when
    `rule` refines nothing or the guide rule's choice is computed."""
    guide = ruleset.by_id.get(rule.refines or "")
    if guide is None or guide.choice is None:
        return None
    return guide.choice, guide


def context(rec: Recommendation, ruleset: RuleSet) -> list[tuple[str, str]]:
    """The answers behind the recommendation, as (question, answer) text: the questions that
    apply to these answers (the ones the interview asks), each answer as its label."""
    facts = facts_of(rec, ruleset)
    rows = []
    for question in ruleset.questions.questions:
        if question.id not in rec.answers or not question.condition(facts):
            continue
        value = rec.answers[question.id]
        if value in ("", None):
            continue
        if isinstance(value, bool):
            text = "yes" if value else "no"
        elif isinstance(value, (int, float)):
            text = _number(value)
        else:
            text = ruleset.label(question.id, value)
        rows.append((question.prompt, text))
    return rows


def design_note(rec: Recommendation, ruleset: RuleSet, title: str | None = None) -> str:
    """The recommendation as a Markdown design note: context, summary, each decision with its
    reasoning and source, open risks and tips. Valid CommonMark, ready for a repository."""
    from advisor import __version__

    name = title or str(rec.answers.get("project_name") or "the project")
    views = decision_views(rec, ruleset)
    out = [
        f"# Design note: {_escape(name)}",
        "",
        f"Written by advisor {__version__} from the answers below: each decision names the rule"
        " that made it and the source that rule rests on.",
        "",
        "## Context",
        "",
        "| Question | Answer |",
        "|---|---|",
    ]
    out += [
        f"| {_cell(question)} | {_cell(answer)} |" for question, answer in context(rec, ruleset)
    ]
    out += ["", "## Summary", "", "| Decision | Choice | Key figures |", "|---|---|---|"]
    for view in views:
        out.append(f"| {_cell(view.title)} | {_cell(view.label)} | {_cell(view.figures_text())} |")
    out += ["", "## Decisions", ""]
    for view in views:
        rule = ruleset.by_id.get(str(view.output.get("rule")))
        out += [f"### {_escape(view.title)}: {_escape(view.label)}", ""]
        out += [_escape(str(view.output.get("because", ""))), ""]
        if view.figures or view.records:
            out += ["| Figure | Value |", "|---|---|"]
            out += [
                f"| {_cell(key)} | {_cell(value)} |" for key, value in view.figures + view.records
            ]
            out.append("")
        rule_title = f": {_escape(rule.title)}" if rule else ""
        out.append(f"- Rule: `{view.output.get('rule')}`{rule_title}")
        out.append(f"- Source: {_escape(str(view.output.get('source', '')))}")
        exam = exam_answer(rule, ruleset) if rule else None
        if exam is not None and exam[0] != view.choice:
            guide = exam[1]
            out.append(
                f"- The exam's answer: {_escape(ruleset.label(view.name, exam[0]))} (guide rule"
                f" `{guide.id}`: {_escape(guide.title)}); this recommendation refines it"
            )
        out += [f"- Warning: {_escape(warning)}" for warning in view.warnings]
        out.append("")
    risks = [(view, warning) for view in views for warning in view.warnings]
    advice = tips(rec, ruleset)
    out += ["## Open risks and tips", ""]
    if not risks and not advice:
        out += ["None.", ""]
    for view, warning in risks:
        out.append(f"- **Risk ({_escape(view.title)}):** {_escape(warning)}")
    for tip in advice:
        source = f"; {_escape(tip['source'])}" if tip.get("source") else ""
        out.append(f"- {_escape(tip['text'])} (`{tip['rule']}`{source})")
    return "\n".join(out).rstrip() + "\n"
