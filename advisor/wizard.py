"""The interview: questions from rules/questions.yaml, one at a time, decisions shown as reached.

Each question's `when` is evaluated over the answers so far (defaults for the rest) and the
decisions the engine reaches on them. A decision is shown once it is *settled*: its winning rule
holds and every rule that would outrank it is already false, judged with three-valued logic in
which an unanswered question is unknown. So once the service is AutoML, the framework and
hardware questions are skipped and their `not_applicable` decisions appear at once.

Every typed value is checked by `validate_answers`, the validator the answers file and `--set`
go through.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from advisor.conditions import compile_condition
from advisor.engine import Recommendation, default_ruleset, recommend
from advisor.errors import AdvisorError, BadAnswers
from advisor.questions import Question, QuestionSet, validate_answers
from advisor.rules import RuleSet, rule_dependencies

ORIGIN = "wizard"


# ---- which decisions are settled ----


def _tri(tree: Any, facts: Mapping[str, Any], known: set[str]) -> bool | None:
    """A `when` tree in three-valued logic: None when it depends on a fact not known yet."""
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
    if atom.fact not in known:
        return None
    return atom.test(facts.get(atom.fact))


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
            value = _tri(rule.when, facts, known)
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


# ---- the terminal ----


class TerminalUI:
    """questionary prompts; decisions and notes printed through prompt_toolkit."""

    def __init__(self, questions: QuestionSet, **prompt_kwargs: Any) -> None:
        self.questions = questions
        self.prompt_kwargs = prompt_kwargs  # input/output, for tests
        self.messages: list[str] = []  # every prompt text, in order
        self.decisions: list[str] = []  # every decision shown, as "title: choice"

    def _print(self, text: str, style: str = "") -> None:
        import questionary

        output = self.prompt_kwargs.get("output")
        questionary.print(text, style=style, **({"output": output} if output else {}))

    def ask(self, question: Question, default: Any) -> Any:
        import questionary

        message = question.prompt
        self.messages.append(message)
        if question.type == "choice":
            choices = [
                questionary.Choice(title=c.label or c.value, value=c.value)
                for c in question.choices
            ]
            prompt = questionary.select(
                message, choices=choices, default=default, **self.prompt_kwargs
            )
        elif question.type == "bool":
            prompt = questionary.confirm(message, default=bool(default), **self.prompt_kwargs)
        else:
            shown = "" if default is None else _format_default(default)
            prompt = questionary.text(
                message,
                default=shown,
                validate=lambda text: check_typed(question, self.questions, text),
                **self.prompt_kwargs,
            )
        value = prompt.unsafe_ask()
        return parse_typed(question, value) if question.type in ("int", "float", "text") else value

    def note(self, text: str) -> None:
        self._print(f"  {text}", "fg:ansibrightblack")

    def decision(self, title: str, output: Mapping[str, Any]) -> None:
        from advisor.present import details

        extra = details(dict(output))
        self.decisions.append(f"{title}: {output.get('choice')}")
        self._print(
            f"=> {title}: {output.get('choice')}" + (f" ({extra})" if extra else ""),
            "bold fg:ansigreen",
        )
        self._print(f"   {output.get('because')} [{output.get('rule')}]", "fg:ansibrightblack")

    def confirm(self, message: str, default: bool) -> bool:
        import questionary

        self.messages.append(message)
        return bool(
            questionary.confirm(message, default=default, **self.prompt_kwargs).unsafe_ask()
        )

    def text(self, message: str, default: str) -> str:
        import questionary

        self.messages.append(message)
        return str(questionary.text(message, default=default, **self.prompt_kwargs).unsafe_ask())


def _format_default(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) < 1e15 else str(value)
    return str(value)


def _save_answers(ui: TerminalUI, given: Mapping[str, Any], default_name: str) -> None:
    import yaml

    path = Path(ui.text("Save them to", default_name))
    path.write_text(
        yaml.safe_dump(dict(given), sort_keys=False, allow_unicode=True), encoding="utf-8"
    )
    ui._print(
        f"Saved {len(given)} answers to {path}; continue with `advisor wizard --answers {path}`"
    )


def run_wizard(
    answers_path: Path | None = None,
    overrides: Sequence[str] = (),
    output: Path | None = None,
    *,
    prompt_kwargs: Mapping[str, Any] | None = None,
    ui: TerminalUI | None = None,
) -> int:
    """The `advisor wizard` command: interview, recommendation, then the project."""
    from advisor.answers_io import parse_set_flags
    from advisor.generate import read_answers_any

    ruleset = default_ruleset()
    questions = ruleset.questions
    preset: dict[str, Any] = {}
    if answers_path is not None:
        preset = read_answers_any(answers_path)
        validate_answers(preset, questions, str(answers_path))
    flags = parse_set_flags(overrides)
    validate_answers(flags, questions, "--set")
    preset.update(flags)

    if ui is None and not prompt_kwargs and not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise AdvisorError(
            "the wizard needs a terminal; without one, use `advisor new --answers FILE`"
        )
    ui = ui or TerminalUI(questions, **dict(prompt_kwargs or {}))
    interview = Interview(ruleset)
    try:
        answers = interview.run(ui, preset)
        from advisor.present import print_recommendation

        rec = recommend(answers, ruleset)
        print_recommendation(rec, ruleset)
        if not ui.confirm("Generate the project?", True):
            if ui.confirm("Save the answers to a file?", True):
                _save_answers(ui, interview.given, "answers.yml")
            return 0
        return _generate(ui, answers, output)
    except KeyboardInterrupt:
        return _interrupted(ui, interview)


def _generate(ui: TerminalUI, answers: dict[str, Any], output: Path | None) -> int:
    from advisor.cli_project import generate_and_report

    while True:
        target = output or Path(ui.text("Output folder", str(answers["project_name"])))
        force = False
        if target.is_dir() and any(target.iterdir()):
            force = ui.confirm(
                f"{target} is not empty. Write the project into it (its files are replaced)?",
                False,
            )
            if not force:
                if output is not None:
                    raise AdvisorError(f"{target}: the folder is not empty")
                continue
        return generate_and_report(answers, target, force=force, pretend=False, diff=False)


def _interrupted(ui: TerminalUI, interview: Interview) -> int:
    print("\nadvisor: interrupted", file=sys.stderr)
    if interview.given:
        try:
            if ui.confirm(f"Save the {len(interview.given)} answers given so far?", True):
                _save_answers(ui, interview.given, "answers.yml")
        except (KeyboardInterrupt, EOFError):
            pass
    return 130
