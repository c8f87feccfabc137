"""`advisor wizard` in a terminal: questionary prompts over the interview in advisor.interview.

Answers given in a file or with `--set` are not asked again; Ctrl-C offers to save the answers
given so far; the end is the recommendation and, if confirmed, the project.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from advisor.errors import AdvisorError
from advisor.interview import Interview, check_typed, parse_typed
from advisor.ruleset.questions import Question, QuestionSet

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
        from advisor.engine import default_ruleset
        from advisor.engine.report import figures

        choice = output.get("choice")
        decision = next((d for d in default_ruleset().decisions if d.title == title), None)
        label = decision.label(choice) if decision else str(choice)
        extra = (
            ", ".join(f"{k} {v}" for k, v in figures(dict(output), decision)) if decision else ""
        )
        self.decisions.append(f"{title}: {label}")
        self._print(f"=> {title}: {label}" + (f" ({extra})" if extra else ""), "bold fg:ansigreen")
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


def _fresh_name(path: Path) -> Path:
    """`path`, or `stem-1.suffix`, `stem-2.suffix`... the first name not taken."""
    candidate, number = path, 0
    while candidate.exists() or candidate.is_symlink():
        number += 1
        candidate = path.with_name(f"{path.stem}-{number}{path.suffix}")
    return candidate


def _save_answers(ui: TerminalUI, given: Mapping[str, Any], default_name: str) -> None:
    """Ask where, then write the answers atomically; an existing file is replaced only when
    the user says so, and a name that cannot be written is reported and asked again."""
    import yaml

    from advisor.fileio import atomic_write

    text = yaml.safe_dump(dict(given), sort_keys=False, allow_unicode=True)
    default = _fresh_name(Path(default_name))
    while True:
        path = Path(ui.text("Save them to", str(default)))
        replace = False
        if path.is_dir():
            ui._print(f"{path} is a folder; give a file name")
            continue
        if path.exists() or path.is_symlink():
            replace = ui.confirm(f"{path} exists. Replace it?", False)
            if not replace:
                default = _fresh_name(path)
                continue
        try:
            atomic_write(path, text, exclusive=not replace)
        except OSError as exc:
            ui._print(f"{path}: cannot be written ({exc.strerror or exc}); choose another name")
            continue
        ui._print(
            f"Saved {len(given)} answers to {path}; continue with"
            f" `advisor wizard --answers {path}`"
        )
        return


def interview_answers(ruleset: Any) -> dict[str, Any]:
    """`advisor recommend` on a terminal without answers: ask the interview's questions, then
    offer to save the answers (so the next run can pass --answers)."""
    ui = TerminalUI(ruleset.questions)
    ui._print("No --answers given: the interview asks for them (Ctrl-C stops; --defaults skips).")
    interview = Interview(ruleset)
    try:
        answers = interview.run(ui, {})
    except (KeyboardInterrupt, EOFError):  # Ctrl-D stops like Ctrl-C: the answers are offered
        raise SystemExit(_interrupted(ui, interview)) from None
    if interview.given and ui.confirm("Save the answers to a file?", False):
        _save_answers(ui, interview.given, "answers.yml")
    return dict(answers)


def run_wizard(
    answers_path: Path | None = None,
    overrides: Sequence[str] = (),
    output: Path | None = None,
    *,
    prompt_kwargs: Mapping[str, Any] | None = None,
    ui: TerminalUI | None = None,
) -> int:
    """The `advisor wizard` command: interview, recommendation, then the project."""
    from advisor.answers import given_answers
    from advisor.engine import default_ruleset, recommend

    ruleset = default_ruleset()
    questions = ruleset.questions
    preset = given_answers(questions, answers_path, overrides)

    if ui is None and not prompt_kwargs and not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise AdvisorError(
            "the wizard needs a terminal; without one, use `advisor new --answers FILE`"
        )
    if output is not None and (output.exists() or output.is_symlink()) and not output.is_dir():
        raise AdvisorError(f"{output}: exists and is not a folder; choose another --output")
    ui = ui or TerminalUI(questions, **dict(prompt_kwargs or {}))
    interview = Interview(ruleset)
    try:
        answers = interview.run(ui, preset)
        from advisor.cli.present import print_recommendation

        rec = recommend(answers, ruleset)
        print_recommendation(rec, ruleset)
        if not ui.confirm("Generate the project?", True):
            if ui.confirm("Save the answers to a file?", True):
                _save_answers(ui, interview.given, "answers.yml")
            return 0
        return _generate(ui, answers, output)
    except (KeyboardInterrupt, EOFError):  # Ctrl-D stops like Ctrl-C: the answers are offered
        return _interrupted(ui, interview)
    except (AdvisorError, OSError) as exc:  # generating failed: the interview is not lost
        where = f"{exc.filename}: " if isinstance(exc, OSError) and exc.filename else ""
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        print(f"advisor: error: {where}{detail}", file=sys.stderr)
        if interview.given and ui.confirm("Save the answers to a file?", True):
            _save_answers(ui, interview.given, "answers.yml")
        return exc.exit_code if isinstance(exc, AdvisorError) else 2


def _generate(ui: TerminalUI, answers: dict[str, Any], output: Path | None) -> int:
    from advisor.cli.project import generate_and_report

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
