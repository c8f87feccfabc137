"""All terminal styling lives here.

The recommendation is plain text wrapped here (never inside a word) with ANSI colour on a terminal
(none on a pipe or with NO_COLOR), so `recommend` needs no rich; rich is imported only when a
table is printed (rules list, whatif).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from advisor.engine import Recommendation
    from advisor.engine.check import CheckReport
    from advisor.ruleset.rules import Decision, Rule, RuleSet


def print_json(data: Any) -> None:
    from advisor.errors import AdvisorError

    try:  # standard JSON only: no Infinity or NaN, which strict parsers refuse
        text = json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False)
    except ValueError:
        raise AdvisorError(
            "a figure of the result is not a finite number: an answer is too large"
        ) from None
    sys.stdout.write(text + "\n")


def _console() -> Any:
    from rich.console import Console

    class PipeConsole(Console):
        def on_broken_pipe(self) -> None:
            # rich exits 1 here; a closed pipe (`| head`) is not a failure: the CLI returns 0
            self.quiet = True
            raise BrokenPipeError

    return PipeConsole(highlight=False, soft_wrap=False)


class Styles:
    """ANSI styling for a terminal; plain text when stdout is not one or NO_COLOR is set."""

    _CODES = {"bold": "1", "dim": "2", "green": "32", "yellow": "33", "cyan": "36"}

    def __init__(self, enabled: bool | None = None) -> None:
        if enabled is None:
            enabled = (
                sys.stdout.isatty()
                and "NO_COLOR" not in os.environ
                and os.environ.get("TERM") != "dumb"
            )
        self.enabled = enabled

    def __call__(self, text: str, style: str) -> str:
        if not self.enabled or not text:
            return text
        codes = ";".join(self._CODES[name] for name in style.split())
        return f"\x1b[{codes}m{text}\x1b[0m"


# Paragraphs are wrapped to the terminal, but no wider than this: long lines are hard to read.
MAX_WIDTH = 100


def terminal_width() -> int:
    return max(40, min(MAX_WIDTH, shutil.get_terminal_size((80, 24)).columns))


def wrap(text: str, width: int, indent: str = "", hanging: str | None = None) -> list[str]:
    """`text` wrapped at spaces only: no word, path or URL is ever split. A word longer than
    the line loses its indent, and stands alone on its line."""
    import textwrap

    lines = textwrap.wrap(
        " ".join(text.split()),
        width=width,
        initial_indent=indent,
        subsequent_indent=indent if hanging is None else hanging,
        break_long_words=False,
        break_on_hyphens=False,
    )
    return [line.lstrip() if len(line) > width else line for line in lines] or [indent]


def recommendation_text(
    rec: Recommendation, ruleset: RuleSet, width: int, style: Styles | None = None
) -> str:
    """The recommendation for a terminal: a summary line a decision, then the reasons (each
    with its rule and source), warnings and tips, wrapped to `width`."""
    from advisor.engine.report import decision_views, tips

    style = style or Styles(False)
    views = decision_views(rec, ruleset)
    column = max(len(view.title) for view in views) + 2
    side_by_side = column <= width // 2
    name = rec.answers.get("project_name")
    out = [style(f"Recommendation for {name}" if name else "Recommendation", "bold"), ""]
    for view in views:
        figures = view.figures_text()
        text = view.label + (f": {figures}" if figures else "")
        if side_by_side:
            lines = wrap(text, width, " " * column)
            first = lines[0][column:]
            head = style(view.title, "bold") + " " * (column - len(view.title))
            if first.startswith(view.label):
                first = style(view.label, "green") + first[len(view.label) :]
            out += [head + first, *lines[1:]]
        else:
            out.append(style(view.title, "bold"))
            out += wrap(text, width, "    ")
    out += ["", style("Why", "bold")]
    for view in views:
        out += ["", style(view.title, "bold") + ": " + style(view.label, "green")]
        out += wrap(str(view.output.get("because", "")), width, "  ")
        for name, value in view.records:
            out += wrap(f"{name}: {value}", width, "  ", "    ")
        where = f"rule {view.output.get('rule')}; source: {view.output.get('source')}"
        out += [style(line, "dim") for line in wrap(where, width, "  ", "    ")]
        for warning in view.warnings:
            out += [style(line, "yellow") for line in wrap(f"warning: {warning}", width, "  ")]
    advice = tips(rec, ruleset)
    if advice:
        out += ["", style("Tips", "bold"), ""]
        for tip in advice:
            lines = wrap(f"- {tip['text']} ({tip['rule']})", width, "  ", "    ")
            out += [style(lines[0][:4], "cyan") + lines[0][4:], *lines[1:]]
    hint = "One decision's rules and why each won or lost: add --explain DECISION."
    out += ["", *[style(line, "dim") for line in wrap(hint, width)]]
    return "\n".join(out) + "\n"


def print_recommendation(rec: Recommendation, ruleset: RuleSet) -> None:
    sys.stdout.write(recommendation_text(rec, ruleset, terminal_width(), Styles()))


def explanation_text(
    rec: Recommendation, decision: Decision, ruleset: RuleSet, width: int, style: Styles
) -> str:
    """One decision's full trace: every rule in priority order, which won, why others lost."""
    from advisor.engine.report import decision_views, explain

    out: list[str] = []
    view = next((v for v in decision_views(rec, ruleset) if v.name == decision.name), None)
    if view is not None:
        figures = view.figures_text()
        out.append(style(view.title, "bold") + ": " + style(view.label, "green"))
        if figures:
            out += wrap(figures, width, "  ")
        out += wrap(str(view.output.get("because", "")), width, "  ")
        for name, value in view.records:
            out += wrap(f"{name}: {value}", width, "  ", "    ")
        where = f"rule {view.output.get('rule')}; source: {view.output.get('source')}"
        out += [style(line, "dim") for line in wrap(where, width, "  ", "    ")]
        for warning in view.warnings:
            out += [style(line, "yellow") for line in wrap(f"warning: {warning}", width, "  ")]
    else:
        out.append(style(decision.title, "bold"))
    how = (
        "every rule that matches contributes"
        if decision.kind == "multi"
        else "the matching rule with the lowest priority wins"
    )
    out += ["", *wrap(f"The rules of {decision.title} ({decision.name}), in order; {how}:", width)]
    for verdict in explain(rec, decision, ruleset):
        won = "adds" if decision.kind == "multi" else "won "
        mark = won if verdict.won else ("lost" if verdict.matched else " -  ")
        rule = verdict.rule
        head = f"{mark} {rule.id} (priority {rule.priority}): {rule.title}"
        lines = wrap(head, width, "  ", "         ")
        colour = "green" if verdict.won else ("yellow" if verdict.matched else "dim")
        out += [style(lines[0], colour), *lines[1:]]
        out += wrap(verdict.why + (":" if verdict.failed else ""), width, "       ")
        for test in verdict.failed:
            out += wrap(f"- {test}", width, "         ", "           ")
    return "\n".join(out) + "\n"


def print_explanation(rec: Recommendation, decision: Decision, ruleset: RuleSet) -> None:
    sys.stdout.write(explanation_text(rec, decision, ruleset, terminal_width(), Styles()))


def print_check(report: CheckReport) -> None:
    console = _console()
    for d in report.decisions:
        status = "[green]ok[/green]" if not d.problems else "[red]FAIL[/red]"
        console.print(f"{status} {d.decision}: {d.rules} rules, {d.points:,} points checked")
        for problem in d.problems:
            console.print(f"    [red]{problem}[/red]")
    for failure in report.case_failures:
        console.print(f"[red]case failed[/red] {failure}")
    verdict = (
        "[green]rule set is complete and consistent[/green]"
        if report.ok
        else "[red]problems found[/red]"
    )
    console.print(
        f"{verdict}: {report.points:,} points, {report.cases_run} rule cases,"
        f" {report.seconds:.2f} s"
    )


def print_rule_list(ruleset: RuleSet) -> None:
    from rich.table import Table

    table = Table(show_lines=False)
    for column in ("id", "decision", "priority", "choice", "title"):
        table.add_column(column)
    for decision in ruleset.decisions:
        for rule in ruleset.rules[decision.name]:
            choice = str(rule.then.get("choice", rule.then.get("tip", "")))
            table.add_row(rule.id, rule.decision, str(rule.priority), choice, rule.title)
    _console().print(table)


def print_rule(rule: Rule) -> None:
    console = _console()
    console.print(f"[bold]{rule.id}[/bold]: {rule.title}")
    console.print(f"decision: {rule.decision}   priority: {rule.priority}")
    if rule.refines:
        console.print(f"refines: {rule.refines}")
    console.print(f"when: {rule.condition.describe()}")
    console.print("then: " + ", ".join(f"{k}={v}" for k, v in rule.then.items()))
    console.print(f"because: {rule.because}")
    console.print(f"source: {rule.source}")
    for case in rule.cases:
        verb = "fires" if case.fires else "does not fire"
        console.print(f"case {case.name} ({verb}): {case.answers}")


def print_whatif(question_id: str, current: Any, variations: list[Any]) -> None:
    from rich.table import Table

    table = Table(title=f"What if {question_id} changes? (now: {current})", show_lines=True)
    table.add_column(question_id, style="bold")
    table.add_column("Decisions that change (rule)")
    for variation in variations:
        changes = "\n".join(
            f"{name}: {before} -> [green]{after}[/green] [dim]({rule})[/dim]"
            for name, (before, after, rule) in variation.changes.items()
        )
        marker = " (current)" if variation.value == current else ""
        table.add_row(f"{variation.value}{marker}", changes or "[dim]no change[/dim]")
    _console().print(table)
