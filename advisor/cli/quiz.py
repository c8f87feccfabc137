"""`advisor quiz`: the command line of the exam-scenario quiz (standard library only at import)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from advisor.cli.options import HelpFormatter

EPILOG = """\
modes:
  advisor quiz                    practice: feedback and the rule's explanation after each answer
  advisor quiz --exam             50 questions in 120 minutes, as the real exam: a live
                                  countdown, flag for review, go back, review before
                                  submitting; feedback only at the end
  advisor quiz --review           practise the scenarios you last answered wrong
  advisor quiz --stats            progress by topic
  advisor quiz --list --json      every scenario with its facts, the engine's answer and explanation
  advisor quiz --html quiz.html   the quiz as one self-contained web page (no network, no
                                  server): practice and exam modes, progress kept in the
                                  browser's storage
  advisor quiz --cards pmle.txt   every question as a flashcard (Anki imports the file)

Progress is kept in $XDG_DATA_HOME/advisor/quiz_progress.json (~/.local/share/advisor/ by default).
Without --seed, missed scenarios come back first (a Leitner schedule); --seed gives the same quiz
for the same seed whatever the progress.
"""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not allowed; expected an integer >= 1")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (value > 0 and value < float("inf")):
        raise argparse.ArgumentTypeError(f"{value} is not allowed; expected a finite number > 0")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "quiz",
        help="exam-scenario quiz answered and explained by the rules engine",
        description="Practise Professional ML Engineer exam scenarios; the rules engine computes"
        " and explains every answer.",
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    parser.add_argument(
        "--topic",
        action="append",
        default=[],
        metavar="TOPIC",
        help="only scenarios of this topic (repeatable; see --stats for topics)",
    )
    parser.add_argument(
        "--count",
        type=_positive_int,
        default=None,
        metavar="N",
        help="number of questions (default 10; --exam: 50; --review: all missed)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        metavar="N",
        help="the same seed gives the same questions and options",
    )
    parser.add_argument(
        "--exam",
        action="store_true",
        help="timed exam: no feedback until the end, then the full review",
    )
    parser.add_argument(
        "--time-limit",
        type=_positive_float,
        default=None,
        metavar="SECONDS",
        help="exam time limit (default 144 seconds a question: 120 minutes for 50)",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--review", action="store_true", help="practise the scenarios last missed")
    mode.add_argument("--stats", action="store_true", help="show progress by topic")
    mode.add_argument(
        "--list", action="store_true", help="list the scenarios with the engine's answers"
    )
    mode.add_argument(
        "--html",
        type=Path,
        default=None,
        metavar="FILE",
        help="write the quiz as one self-contained HTML page to FILE (an existing file is"
        " refused unless --force)",
    )
    mode.add_argument(
        "--cards",
        type=Path,
        default=None,
        metavar="FILE",
        help="write every question as a flashcard to FILE: tab-separated, with the headers Anki"
        " imports (an existing file is refused unless --force)",
    )
    parser.add_argument("--force", action="store_true", help="with --html or --cards: replace FILE")
    parser.add_argument("--json", action="store_true", help="with --list or --stats: print JSON")
    parser.add_argument(
        "--plain",
        action="store_true",
        help="plain text for pipes and screen readers: numbered answers read from stdin, no"
        " colour or redrawing (the default when stdout is not a terminal)",
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        help="for rule authors: show the deciding rule, its priority and why others lost",
    )
    parser.set_defaults(handler=cmd_quiz, quiz_parser=parser)


def cmd_quiz(args: argparse.Namespace) -> int:
    from advisor.cli.present import print_json
    from advisor.cli.quiz_view import QuizView
    from advisor.engine import default_ruleset
    from advisor.errors import AdvisorError
    from advisor.paths import rules_dir
    from advisor.quiz.bank import load_bank
    from advisor.quiz.progress import Progress
    from advisor.quiz.session import (
        DEFAULT_COUNT,
        EXAM_COUNT,
        QuizSettings,
        list_items,
        run_command,
        topic_stats,
    )

    if args.json and not (args.list or args.stats):
        raise AdvisorError("--json: only with --list or --stats")
    if args.time_limit is not None and not args.exam:
        raise AdvisorError("--time-limit: only with --exam")
    target = args.html or args.cards
    flag = "--html" if args.html is not None else "--cards"
    if args.force and target is None:
        raise AdvisorError("--force: only with --html or --cards")
    if target is not None and (args.exam or args.count or args.time_limit or args.debug):
        raise AdvisorError(f"{flag}: writes every question; only --topic and --seed apply")
    if target is not None:
        _check_target(flag, target)  # before the bank loads, so that a typo fails at once
    topics = [part.strip() for item in args.topic for part in item.split(",") if part.strip()]
    ruleset = default_ruleset()
    bank = load_bank(rules_dir() / "scenarios", ruleset)
    bank.check_topics(topics)
    if args.list:
        items = list_items(bank, ruleset, topics)
        if args.json:
            print_json(items)
        else:
            QuizView(plain=args.plain).scenario_list(items)
        return 0
    if target is not None:
        return _write_export(flag, target, bank, ruleset, topics, args.seed, force=args.force)
    import sys

    # Plain output for pipes and screen readers: no colour, no box drawing, no redrawing.
    plain = args.plain or not sys.stdout.isatty()
    view = QuizView(debug=args.debug, plain=plain)
    progress = Progress.load()
    if progress.notice:
        view.warn(progress.notice)
    if args.stats:
        rows = topic_stats(bank, progress)
        if args.json:
            print_json({"session": progress.session, "path": str(progress.path), "topics": rows})
        else:
            view.stats(rows, progress.session)
        return 0
    count = args.count or (
        len(bank.scenarios) if args.review else EXAM_COUNT if args.exam else DEFAULT_COUNT
    )
    settings = QuizSettings(
        topics=tuple(topics),
        count=count,
        seed=args.seed,
        exam=args.exam,
        review=args.review,
        time_limit=args.time_limit,
    )
    return run_command(
        bank,
        ruleset,
        settings,
        view=view,
        progress=progress,
        make_asker=lambda: _asker(args.plain),
    )


def _asker(plain: bool) -> Any:
    """The prompt, made once the quiz has questions to ask: numbered lines with --plain, else
    questionary's, which needs stdin to be a terminal."""
    import sys

    from advisor.errors import AdvisorError

    if plain:
        from advisor.cli.plain_asker import PlainAsker

        return PlainAsker()
    from advisor.cli.prompts import QuestionaryAsker

    if not sys.stdin.isatty():
        raise AdvisorError(
            "advisor quiz asks its questions in a terminal, and stdin is not one;"
            " `advisor quiz --plain` reads numbered answers from stdin, and"
            " `advisor quiz --list --json` prints the scenarios without asking"
        )
    return QuestionaryAsker()


def _write_export(
    flag: str,
    path: Path,
    bank: Any,
    ruleset: Any,
    topics: list[str],
    seed: int | None,
    *,
    force: bool,
) -> int:
    """Write the quiz page or the flashcards; a user's existing file is replaced only with
    --force."""
    from advisor.errors import AdvisorError
    from advisor.fileio import atomic_write
    from advisor.paths import templates_dir
    from advisor.quiz.page import flashcards, page_data, render_page

    data = page_data(bank, ruleset, topics, seed or 0)
    text = render_page(data, templates_dir()) if flag == "--html" else flashcards(data)
    try:
        atomic_write(path, text, exclusive=not force)
    except FileExistsError:
        raise AdvisorError(
            f"{flag} {path}: the file exists; choose another name, or add --force to replace it"
        ) from None
    except OSError as exc:
        raise AdvisorError(f"{flag} {path}: cannot be written ({exc.strerror})") from None
    what = "open it in a browser" if flag == "--html" else "import it into Anki or read it as TSV"
    print(f"Wrote {path}: {len(data['questions'])} questions; {what}.")
    return 0


def _check_target(flag: str, path: Path) -> None:
    from advisor.errors import AdvisorError

    if path.is_dir():
        raise AdvisorError(f"{flag} {path}: is a folder; give the name of the file to write")
    if not path.parent.is_dir():
        raise AdvisorError(f"{flag} {path}: the folder {path.parent} does not exist")
