"""All terminal styling of the quiz (rich, imported when a view is made)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from advisor.quiz.session import QuizQuestion, QuizResult, QuizSettings, Response


def _clock(seconds: float) -> str:
    seconds = max(0, math.ceil(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def _pct(right: int, total: int) -> str:
    return f"{round(100 * right / total)}%" if total else "-"


class QuizView:
    """Prints the quiz: stories, feedback, reviews, scores and statistics."""

    def __init__(
        self,
        console: Any = None,
        err_console: Any = None,
        debug: bool = False,
        plain: bool = False,
    ) -> None:
        from rich.console import Console

        # Plain: no colour or styles, tables without box drawing (pipes, screen readers).
        self.plain = plain
        self.debug = debug  # rule ids, priorities and the rule trace, for rule authors
        self.topic_titles: dict[str, str] = {}  # topic id -> title, set by start()
        self.console = console or Console(highlight=False, no_color=plain, emoji=not plain)
        self.err = err_console or Console(
            stderr=True, highlight=False, no_color=plain, emoji=not plain
        )

    def _print(self, text: str = "", **kwargs: Any) -> None:
        if self.plain:
            from rich.text import Text

            self.console.print(Text.from_markup(text).plain, **kwargs)
            return
        self.console.print(text, **kwargs)

    def _table(self, **kwargs: Any) -> Any:
        """A table that fits 80 columns: light borders, or none in plain mode."""
        from rich import box
        from rich.table import Table

        return Table(box=None if self.plain else box.SIMPLE_HEAD, pad_edge=False, **kwargs)

    @staticmethod
    def _esc(text: Any) -> str:
        from rich.markup import escape

        return escape(str(text))

    def warn(self, message: str) -> None:
        self.err.print(f"[yellow]advisor: warning:[/yellow] {self._esc(message)}")

    def message(self, text: str) -> None:
        self._print(self._esc(text))

    def start(
        self,
        total: int,
        settings: QuizSettings,
        time_limit: float | None,
        topics: list[str],
        topic_titles: dict[str, str] | None = None,
        banner: str = "",
    ) -> None:
        kind = "Exam" if settings.exam else ("Review" if settings.review else "Practice quiz")
        self.topic_titles = topic_titles or {}
        about = f" on {', '.join(topics)}" if topics else ""
        self._print(f"[bold]{kind}[/bold]: {total} question{'s' * (total != 1)}{self._esc(about)}")
        if time_limit is not None:
            self._print(
                f"Time limit {_clock(time_limit)}. No feedback until the end; then the full review."
                " Flag (f) a question to come back to it, go back (b), or review all answers"
                " (r) before you submit."
            )
        if banner:
            self._print(f"[dim]{self._esc(banner)}[/dim]")
        if settings.seed is not None:
            self._print(f"[dim]seed {settings.seed}: the same seed gives the same quiz[/dim]")

    def question(
        self, index: int, total: int, question: QuizQuestion, time_left: float | None
    ) -> None:
        """A practice question: its number, the topics it practises, and the story."""
        scenario = question.scenario
        self._print()
        about = self._esc(f"({', '.join(self.topic_titles.get(t, t) for t in scenario.topics)})")
        self._print(f"[bold cyan]Question {index} of {total}[/bold cyan] [dim]{about}[/dim]")
        self._print(self._esc(scenario.story))

    def exam_question(
        self, index: int, total: int, question: QuizQuestion, flagged: bool, picked: Any
    ) -> None:
        """An exam question, as the real exam shows it: no topic, the flag, the answer so far."""
        self._print()
        marks = " [yellow](flagged for review)[/yellow]" if flagged else ""
        self._print(f"[bold cyan]Question {index} of {total}[/bold cyan]{marks}")
        self._print(self._esc(question.scenario.story))
        if picked is not None:
            self._print(f"[dim]Your answer so far: {self._esc(picked.label)}[/dim]")

    def interrupted(self, right: int, answered: int, total: int) -> None:
        self._print()
        self._print(
            f"Exam stopped: {answered} of {total} questions answered, {right} right."
            " Those answers are saved; the questions not answered are not counted."
        )

    def feedback(self, response: Response) -> None:
        if response.is_correct:
            self._print("[bold green]Right.[/bold green]")
        else:
            self._print("[bold red]Wrong.[/bold red]")
        self._explanation(response)

    def _explanation(self, response: Response) -> None:
        e = response.explanation
        self._print(f"  Answer: [bold]{self._esc(e.answer_label)}[/bold]")
        self._print(f"  Why: {self._esc(e.because)}")
        for warning in e.warnings:
            self._print(f"  [yellow]Note: {self._esc(warning)}[/yellow]")
        if e.trap:
            self._print(f"  Trap: {self._esc(e.trap)}")
        if e.why_not and response.picked is not None:
            self._print(f"  Why not [bold]{self._esc(response.picked.label)}[/bold]:")
            for line in e.why_not:
                self._print(f"    - {self._esc(line)}")
        if e.others:
            self._print("  The other options:")
            for label, lines in e.others:
                self._print(f"    - {self._esc(label)} {self._esc(' '.join(lines))}")
        links = [e.link, *(part for part in e.source.split("; ") if part.startswith("https://"))]
        seen = list(dict.fromkeys(link for link in links if link))
        if seen:
            self._print(f"  [dim]Read more: {self._esc(' ; '.join(seen))}[/dim]")
        if self.debug:
            rule = self._esc(f"Rule {e.rule} ({e.rule_title}); source: {e.source}")
            self._print(f"  [dim]{rule}[/dim]")
            if e.refines:
                self._print(
                    f"  [dim]This refines the guide's rule {self._esc(e.refines[0])}"
                    f" ({self._esc(e.refines[1])}).[/dim]"
                )
            for line in e.debug:
                self._print(f"  [dim]debug: {self._esc(line)}[/dim]")

    def time_up(self) -> None:
        self._print()
        self._print("[bold red]Time is up.[/bold red] Unanswered questions count as wrong.")

    def review(self, responses: list[Response]) -> None:
        self._print()
        self._print("[bold]Review[/bold]")
        for index, response in enumerate(responses, start=1):
            question = response.question
            if response.picked is None:
                verdict = "[red]not answered[/red]"
            elif response.is_correct:
                verdict = "[green]right[/green]"
            else:
                verdict = "[red]wrong[/red]"
            self._print()
            self._print(
                f"[bold cyan]{index}. {self._esc(question.scenario.id)}[/bold cyan] - {verdict}"
            )
            self._print(self._esc(question.scenario.story))
            self._print(f"  {self._esc(question.prompt)}")
            if response.picked is not None and not response.is_correct:
                self._print(f"  Your answer: {self._esc(response.picked.label)}")
            self._explanation(response)

    def score(
        self,
        result: QuizResult,
        by_topic: list[tuple[str, int, int]],
        by_domain: list[tuple[str, int, int, int]] | None = None,
        coverage: str = "",
    ) -> None:

        self._print()
        score = f"Score: {result.score}/{result.total} ({_pct(result.score, result.total)})"
        self._print(f"[bold]{score}[/bold]")
        table = self._table(title="By topic", title_justify="left")
        for column in ("Topic", "Right", "Asked", "Score"):
            table.add_column(column, justify="left" if column == "Topic" else "right")
        for title, right, asked in by_topic:
            table.add_row(self._esc(title), str(right), str(asked), _pct(right, asked))
        self.console.print(table)
        if by_domain:
            table = self._table(title="By exam domain", title_justify="left")
            for column in ("Exam domain", "Weight", "Right", "Asked", "Score"):
                table.add_column(column, justify="left" if column == "Exam domain" else "right")
            for title, weight, right, asked in by_domain:
                table.add_row(
                    self._esc(title),
                    f"{weight}%",
                    str(right),
                    str(asked),
                    _pct(right, asked) if asked else "not covered",
                )
            self.console.print(table)
        if coverage:
            self._print(f"[dim]{self._esc(coverage)}[/dim]")

    def stats(self, rows: list[dict[str, Any]], session: int) -> None:
        table = self._table(
            title=f"Quiz progress ({session} quiz session{'s' * (session != 1)})",
            title_justify="left",
        )
        columns = ("Topic (--topic)", "Qs", "Seen", "Right", "Missed", "Mastered", "Due")
        for column in columns:
            left = column.startswith("Topic")
            table.add_column(column, justify="left" if left else "right", no_wrap=left)
        for row in rows:
            accuracy = "-" if row["accuracy"] is None else f"{round(100 * row['accuracy'])}%"
            style = "bold" if row["topic"] is None and not self.plain else None
            table.add_row(
                self._esc(row["topic"] or "all topics"),
                str(row["scenarios"]),
                str(row["seen"]),
                accuracy,
                str(row["missed"]),
                str(row["mastered"]),
                str(row["due"]),
                style=style,
            )
        self.console.print(table)
        self._print(
            "[dim]Qs: scenarios in the bank. Right: share of answers right. Missed: last answer"
            " wrong (practise with --review). Mastered: right three times in a row. Due:"
            " scheduled for the next quiz.[/dim]"
        )

    def scenario_list(self, items: list[dict[str, Any]]) -> None:
        """One scenario per paragraph, so that it reads at any width (--json for tools)."""
        for item in items:
            answer = ", ".join(
                "+".join(map(str, v)) if isinstance(v, list) else str(v)
                for v in item["answer"].values()
                if v not in (None, [])
            )
            mark = "" if item["agrees"] else " [red](expected differs)[/red]"
            self._print(
                f"[bold]{self._esc(item['id'])}[/bold] [dim]({self._esc(item['dimension'])})[/dim]"
            )
            self._print(
                f"  answer: {self._esc(answer)}{mark}; rule {self._esc(item['rule'])};"
                f" topics: {self._esc(', '.join(item['topics']))}"
            )
        self._print(f"{len(items)} scenarios")
