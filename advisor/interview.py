"""The interview: questions from rules/questions.yaml, one at a time, decisions shown as reached.

Each question's `when` is evaluated over the answers so far (defaults for the rest) and the
decisions the engine reaches on them. A decision is shown once it is *settled*: its winning rule
holds and every rule that would outrank it is already false, judged with three-valued logic in
which an unanswered question is unknown. So once the service is AutoML, the framework and
hardware questions are skipped and their `not_applicable` decisions appear at once.

Every typed value is checked by `validate_answers`, the validator the answers file and `--set`
go through. The interview asks through a `UI`; the terminal's lives in `advisor.cli.wizard`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from advisor.engine import Recommendation, recommend
from advisor.errors import BadAnswers
from advisor.ruleset.questions import Question, QuestionSet, validate_answers
from advisor.ruleset.rules import RuleSet, rule_dependencies

ORIGIN = "wizard"


# ---- which decisions are settled ----


def settled_decisions(ruleset: RuleSet, rec: Recommendation, resolved: set[str]) -> list[str]:
    """The single decisions whose outcome no unanswered question can change any more."""
    facts: dict[str, Any] = dict(rec.answers)
    known = set(resolved)
    settled: list[str] = []
    for decision in ruleset.decisions:
        if decision.kind == "multi":
            continue
        winner = rec.winner(decision.name)
        is_settled = False
        for rule in ruleset.rules[decision.name]:
            value = rule.condition.tri(facts, known)
            if rule.id == winner:
                reads = rule_dependencies(rule) - set(rule.then)
                is_settled = value is True and reads <= known
                break
            if value is not False:  # an outranking rule might still match
                break
        # Later rules read the decision's choice under its name, as the engine does.
        facts[decision.name] = rec.choice(decision.name)
        if is_settled:
            known.add(decision.name)
            settled.append(decision.name)
        else:
            known.discard(decision.name)
    return settled


# ---- the interview, independent of the terminal ----


class UI(Protocol):
    def ask(self, question: Question, default: Any) -> Any: ...
    def note(self, text: str) -> None: ...
    def decision(self, title: str, output: Mapping[str, Any]) -> None: ...


@dataclass
class Interview:
    """The answers given so far (from a file, flags or prompts) and the decisions shown."""

    ruleset: RuleSet
    given: dict[str, Any] = field(default_factory=dict)
    resolved: set[str] = field(default_factory=set)
    shown: list[str] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)

    @property
    def questions(self) -> QuestionSet:
        return self.ruleset.questions

    def recommendation(self) -> Recommendation:
        """The engine over the answers so far, defaults for the rest."""
        return recommend(validate_answers(self.given, self.questions, ORIGIN), self.ruleset)

    def facts(self, rec: Recommendation) -> dict[str, Any]:
        return {**rec.answers, **{d.name: rec.choice(d.name) for d in self.ruleset.decisions}}

    def run(self, ui: UI, preset: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Ask every open question in order; return the full validated answers."""
        preset = dict(preset or {})
        self._announce(ui, self.recommendation())
        for question in self.questions.questions:
            rec = self.recommendation()
            if question.id in preset:
                self.given[question.id] = preset[question.id]
            elif question.condition(self.facts(rec)):
                if question.help:
                    ui.note(question.help)
                self.given[question.id] = ui.ask(question, question.default)
                self.asked.append(question.id)
            self.resolved.add(question.id)
            self._announce(ui, self.recommendation())
        return validate_answers(self.given, self.questions, ORIGIN)

    def _announce(self, ui: UI, rec: Recommendation) -> None:
        for name in settled_decisions(self.ruleset, rec, self.resolved):
            if name not in self.shown:
                self.shown.append(name)
                output = rec.decisions.get(name) or rec.top.get(name) or {}
                ui.decision(self.ruleset.decision(name).title, output)


def parse_typed(question: Question, text: str) -> Any:
    """A typed string as the question's type (validation proper is validate_answers')."""
    if question.type == "int":
        return int(text.strip())
    if question.type == "float":
        return float(text.strip())
    return text


def check_typed(question: Question, questions: QuestionSet, text: str) -> bool | str:
    """questionary's validator: True, or the message the validator gives for this value."""
    try:
        value = parse_typed(question, text)
    except ValueError:
        return f"expected {question.allowed()}"
    try:
        validate_answers({question.id: value}, questions, ORIGIN)
    except BadAnswers as exc:
        return str(exc).split(": ", 2)[-1]  # drop "wizard: field 'x'" - the prompt says which
    return True
