"""All terminal styling lives here; rich is imported only when a table is printed."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from advisor.engine import Recommendation
    from advisor.engine.check import CheckReport
    from advisor.ruleset.rules import Rule, RuleSet

_HIDDEN = {"choice", "rule", "because", "source", "warnings"}


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def _console() -> Any:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


def details(output: dict[str, Any]) -> str:
    """The extra fields of a decision (machine type, budget, steps...) as `key=value` text."""
    parts = []
    for key, value in output.items():
        if key in _HIDDEN or value in (None, [], ""):
            continue
        if isinstance(value, list):
            value = " + ".join(str(v) for v in value)
        parts.append(f"{key}={value}")
    return ", ".join(parts)


def print_recommendation(rec: Recommendation, ruleset: RuleSet) -> None:
    from rich.table import Table

    console = _console()
    table = Table(title="Recommendation", show_lines=True, expand=True)
    table.add_column("Decision", style="bold", ratio=1)
    table.add_column("Choice", style="green", ratio=2, overflow="fold")
    table.add_column("Why (rule, source)", ratio=4)
    for decision in ruleset.decisions:
        if decision.kind == "multi":
            continue
        output = rec.decisions.get(decision.name) or rec.top.get(decision.name) or {}
        extra = details(output)
        choice = str(output.get("choice")) + (f"\n[dim]{extra}[/dim]" if extra else "")
        why = f"{output.get('because')}\n[dim]{output.get('rule')} - {output.get('source')}[/dim]"
        for warning in output.get("warnings", []):
            why += f"\n[yellow]warning: {warning}[/yellow]"
        table.add_row(decision.title, choice, why)
    console.print(table)
    for tip in rec.top.get("tips", []):
        console.print(f"[cyan]tip[/cyan] {tip['text']} [dim]({tip['rule']})[/dim]")


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
