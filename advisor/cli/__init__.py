"""The `advisor` command line: the only layer that talks to the terminal.

Owns argument parsing (argparse, which keeps start-up fast), the commands and their exit codes,
and every terminal library: rich tables (`present`, `quiz_view`) and questionary prompts
(`prompts`, `wizard`). Each command group is a module with `register(subparsers)`; handlers
import the library lazily so that `advisor --help` and `advisor recommend` stay fast. Nothing
below this package imports it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from advisor import __version__
from advisor.cli.options import HelpFormatter, add_answer_options, completes, example_epilog
from advisor.errors import AdvisorError

Handler = Callable[[argparse.Namespace], int]


def cmd_recommend(args: argparse.Namespace) -> int:
    from advisor.answers import load_answers
    from advisor.engine import default_ruleset, recommend

    ruleset = default_ruleset()
    explain = None
    if args.explain:
        from advisor.engine.report import find_decision

        explain = find_decision(args.explain, ruleset)
        if explain is None:
            names = ", ".join(ruleset.decision_names)
            raise AdvisorError(f"--explain: no decision '{args.explain}' (decisions: {names})")
    if args.answers is None and not args.overrides and not args.defaults:
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            raise AdvisorError(
                "recommend needs answers: pass --answers FILE (or --set ID=VALUE), or --defaults"
                " to recommend for the default answers; `advisor wizard` asks them interactively"
            )
        from advisor.cli.wizard import interview_answers

        answers = interview_answers(ruleset)
    else:
        answers = load_answers(ruleset.questions, args.answers, args.overrides)
    rec = recommend(answers, ruleset)
    fmt = "json" if args.json else args.format
    if fmt == "json":
        from advisor.cli.present import print_json

        print_json(rec.to_json())
    elif fmt == "markdown":
        from advisor.engine.report import design_note

        sys.stdout.write(design_note(rec, ruleset))
    elif explain is not None:
        from advisor.cli.present import print_explanation

        print_explanation(rec, explain, ruleset)
    else:
        from advisor.cli.present import print_recommendation

        print_recommendation(rec, ruleset)
    return 0


def cmd_rules_check(args: argparse.Namespace) -> int:
    from advisor.cli.present import print_check, print_json
    from advisor.engine import default_ruleset
    from advisor.engine.check import check_ruleset
    from advisor.project.stack_check import check_stack_mapping

    ruleset = default_ruleset()
    report = check_ruleset(ruleset)
    # the project templates are part of the proof: each recommendation selects one stack
    report.decisions.append(check_stack_mapping(ruleset))
    if args.json:
        print_json(
            {
                "ok": report.ok,
                "points": report.points,
                "cases": report.cases_run,
                "seconds": round(report.seconds, 3),
                "decisions": [vars(d) for d in report.decisions],
                "case_failures": report.case_failures,
            }
        )
    else:
        print_check(report)
    return 0 if report.ok else 1


def cmd_rules_list(args: argparse.Namespace) -> int:
    from advisor.cli.present import print_rule_list
    from advisor.engine import default_ruleset

    print_rule_list(default_ruleset())
    return 0


def cmd_rules_show(args: argparse.Namespace) -> int:
    import difflib

    from advisor.cli.present import print_rule
    from advisor.engine import default_ruleset

    ruleset = default_ruleset()
    rule = ruleset.by_id.get(args.rule_id.upper())
    if rule is None:
        close = difflib.get_close_matches(args.rule_id.upper(), list(ruleset.by_id), n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise AdvisorError(f"no rule with id '{args.rule_id}'{hint}")
    print_rule(rule)
    return 0


def cmd_rules_graph(args: argparse.Namespace) -> int:
    import shutil
    import subprocess

    from advisor.engine import default_ruleset
    from advisor.engine.graph import dot, mermaid, mermaid_overview

    ruleset = default_ruleset()
    flowchart = mermaid_overview(ruleset) if args.overview else mermaid(ruleset)
    if args.output is None:
        sys.stdout.write(flowchart if args.format == "mermaid" else dot(ruleset))
        return 0
    suffix = args.output.suffix.lstrip(".").lower()
    if suffix in ("md", "mmd"):
        args.output.write_text(flowchart, encoding="utf-8")
    elif suffix == "dot":
        args.output.write_text(dot(ruleset), encoding="utf-8")
    elif suffix in ("svg", "png"):
        graphviz = shutil.which("dot")
        if graphviz is None:
            raise AdvisorError(
                f"{args.output}: writing .{suffix} needs Graphviz's `dot`; not found"
            )
        subprocess.run(
            [graphviz, f"-T{suffix}", "-o", str(args.output)],
            input=dot(ruleset),
            text=True,
            check=True,
        )
    else:
        raise AdvisorError(f"{args.output}: use .mmd, .md, .dot, .svg or .png")
    return 0


def cmd_rules_doc(args: argparse.Namespace) -> int:
    from advisor.engine import default_ruleset
    from advisor.engine.ruledoc import rules_reference
    from advisor.paths import rules_dir

    text = rules_reference(default_ruleset())
    target = args.path or rules_dir().parent / "docs" / "rules.md"
    if (args.write or args.check) and not args.path and not target.parent.is_dir():
        # an installed wheel ships no docs/: checking against nothing would always fail
        raise AdvisorError(
            f"{target.parent}: no docs folder; --write and --check work in a checkout"
        )
    if args.write:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        return 0
    if args.check:
        current = target.read_text(encoding="utf-8") if target.exists() else ""
        if current != text:
            print(
                f"{target} is out of date; refresh it with: advisor rules doc --write",
                file=sys.stderr,
            )
            return 1
        return 0
    sys.stdout.write(text)
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from advisor.cli.present import print_json
    from advisor.engine import default_ruleset

    print_json(default_ruleset().questions.json_schema())
    return 0


def cmd_whatif(args: argparse.Namespace) -> int:
    from advisor.answers import load_answers
    from advisor.cli.present import print_json, print_whatif
    from advisor.engine import default_ruleset
    from advisor.engine.whatif import vary

    ruleset = default_ruleset()
    answers = load_answers(ruleset.questions, args.answers, args.overrides)
    base, variations = vary(answers, args.vary, ruleset)
    if args.json:
        print_json(
            {
                "vary": args.vary,
                "current": answers[args.vary],
                "base": base,
                "variations": [
                    {
                        "value": v.value,
                        "changes": {
                            k: {"from": a, "to": b, "rule": r} for k, (a, b, r) in v.changes.items()
                        },
                    }
                    for v in variations
                ],
            }
        )
    else:
        print_whatif(args.vary, answers[args.vary], variations)
    return 0


def cmd_examples(args: argparse.Namespace) -> int:
    from advisor.project import examples

    root = examples.repo_root()
    source, output = root / "examples", root / "generated_examples"
    if not source.is_dir():  # an installed wheel ships no examples: "0 up to date" is no check
        raise AdvisorError(f"{source}: no examples folder; --check and --write work in a checkout")
    readme = root / "README.md"
    table = examples.readme_with_table(readme, source)
    if args.write:
        for name in examples.write(source, output):
            print(f"wrote generated_examples/{name}")
        if table is not None and table != readme.read_text(encoding="utf-8"):
            readme.write_text(table, encoding="utf-8")
            print("wrote the examples table in README.md")
        return 0
    drift = examples.check(source, output)
    for item in drift:
        print(f"{item.kind}: generated_examples/{item.example}/{item.path}", file=sys.stderr)
    if table is not None and table != readme.read_text(encoding="utf-8"):
        print("changed: the examples table in README.md", file=sys.stderr)
        drift.append(examples.Drift("README.md", "examples table", "changed"))
    if drift:
        print(f"examples are out of date; refresh them with: {examples.REFRESH}", file=sys.stderr)
        return 1
    print(f"{len(examples.example_files(source))} examples are up to date")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="advisor",
        description="Decision advisor and project generator for ML training on Vertex AI.",
        epilog=START_HERE,
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"advisor {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    rec = commands.add_parser(
        "recommend",
        help="run the rules over answers and print the recommendation",
        description="Run the rules over an answers file and print the recommendation: a summary"
        " line a decision, then each reason with its rule and source, and the tips. Without"
        " --answers or --set it asks the interview's questions on a terminal and stops on a"
        " pipe, unless --defaults is given.",
        epilog=example_epilog(
            "advisor recommend --answers examples/tabular-sklearn.yml",
            "advisor recommend --answers examples/bert-text-tpu.yml --explain hardware",
            "advisor recommend --answers examples/pytorch-ddp-multi-gpu.yml --format markdown"
            " > DESIGN.md",
            "advisor recommend --defaults --set task=image_classification --json",
        ),
        formatter_class=HelpFormatter,
    )
    add_answer_options(rec)
    rec.add_argument(
        "--defaults",
        action="store_true",
        help="recommend for the default answers when no --answers or --set is given",
    )
    rec.add_argument(
        "--format",
        choices=["text", "markdown", "json"],
        default="text",
        help="text for a terminal (the default), a Markdown design note, or JSON",
    )
    rec.add_argument("--json", action="store_true", help="the same as --format json")
    explain = rec.add_argument(
        "--explain",
        metavar="DECISION",
        help="show one decision's rules: which matched, which won and why the others lost",
    )
    completes(explain, "decisions")
    rec.set_defaults(handler=cmd_recommend)

    rules = commands.add_parser(
        "rules",
        help="check and browse the decision rules",
        epilog=example_epilog(
            "advisor rules check", "advisor rules show HW-TPU-POD", "advisor rules list | less"
        ),
        formatter_class=HelpFormatter,
    )
    rules_commands = rules.add_subparsers(dest="rules_command", metavar="SUBCOMMAND")
    check = rules_commands.add_parser(
        "check",
        help="prove the rule set complete and consistent",
        epilog=example_epilog("advisor rules check", "advisor rules check --json | jq .ok"),
        formatter_class=HelpFormatter,
    )
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.set_defaults(handler=cmd_rules_check)
    rules_commands.add_parser(
        "list",
        help="list every rule",
        epilog=example_epilog("advisor rules list", "advisor rules list | grep hardware"),
        formatter_class=HelpFormatter,
    ).set_defaults(handler=cmd_rules_list)
    show = rules_commands.add_parser(
        "show",
        help="show one rule",
        epilog=example_epilog("advisor rules show HW-TPU-POD", "advisor rules show svc-onprem"),
        formatter_class=HelpFormatter,
    )
    completes(show.add_argument("rule_id", metavar="ID"), "rules")
    show.set_defaults(handler=cmd_rules_show)
    graph = rules_commands.add_parser(
        "graph",
        help="draw the rules as a Mermaid flowchart",
        epilog=example_epilog(
            "advisor rules graph --overview",
            "advisor rules graph --output rules.svg",
            "advisor rules graph --format dot > rules.dot",
        ),
        formatter_class=HelpFormatter,
    )
    graph.add_argument("--format", choices=["mermaid", "dot"], default="mermaid")
    graph.add_argument("--overview", action="store_true", help="decisions only, no rules")
    graph.add_argument(
        "--output",
        type=Path,
        metavar="FILE",
        help="write .mmd/.md/.dot, or .svg/.png through Graphviz",
    )
    graph.set_defaults(handler=cmd_rules_graph)
    doc = rules_commands.add_parser(
        "doc",
        help="the rules reference (docs/rules.md)",
        epilog=example_epilog("advisor rules doc | less", "advisor rules doc --write"),
        formatter_class=HelpFormatter,
    )
    doc.add_argument("--write", action="store_true", help="refresh docs/rules.md")
    doc.add_argument("--check", action="store_true", help="exit 1 if docs/rules.md is out of date")
    doc.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    doc.set_defaults(handler=cmd_rules_doc)
    rules.set_defaults(handler=lambda _args: _usage(rules))

    examples = commands.add_parser(
        "examples",
        help="check or refresh generated_examples/",
        epilog=example_epilog("advisor examples --check", "advisor examples --write"),
        formatter_class=HelpFormatter,
    )
    mode = examples.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="exit 1 if any example is out of date")
    mode.add_argument("--write", action="store_true", help="re-render every example")
    examples.set_defaults(handler=cmd_examples)

    schema = commands.add_parser(
        "schema",
        help="print the JSON Schema of the answers file",
        epilog=example_epilog(
            "advisor schema > answers.schema.json",
            "advisor schema | python -m json.tool | less",
        ),
        formatter_class=HelpFormatter,
    )
    schema.set_defaults(handler=cmd_schema)

    whatif = commands.add_parser(
        "whatif",
        help="show which values of one answer flip which decisions",
        epilog=example_epilog(
            "advisor whatif --answers examples/bert-text-tpu.yml --vary framework",
            "advisor whatif --answers examples/tabular-sklearn.yml --vary team --json",
        ),
        formatter_class=HelpFormatter,
    )
    add_answer_options(whatif)
    vary = whatif.add_argument("--vary", required=True, metavar="ID", help="the answer to vary")
    completes(vary, "questions")
    whatif.add_argument("--json", action="store_true")
    whatif.set_defaults(handler=cmd_whatif)

    for register in _extensions():
        register(commands)
    return parser


def _extensions() -> list[Callable[[argparse._SubParsersAction], None]]:  # type: ignore[type-arg]
    """The `register` functions of the command groups kept in modules of their own."""
    from advisor.cli import project, quiz

    return [project.register, quiz.register, _register_completion]


def _register_completion(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "completion",
        help="print the shell completion script for bash, zsh or fish",
        description="Print a completion script (commands, options, answer ids and values for"
        " --set, rule ids) generated from the command line itself. Install it with one command:",
        epilog=example_epilog(
            'advisor completion bash > "${BASH_COMPLETION_USER_DIR:-$HOME/.local/share/'
            'bash-completion}/completions/advisor"',
            'advisor completion zsh > "${fpath[1]}/_advisor"   # then restart zsh',
            "advisor completion fish > ~/.config/fish/completions/advisor.fish",
        ),
        formatter_class=HelpFormatter,
    )
    parser.add_argument("shell", choices=["bash", "zsh", "fish"])
    parser.set_defaults(handler=cmd_completion)


def cmd_completion(args: argparse.Namespace) -> int:
    from advisor.cli.completion import completion_words, script
    from advisor.engine import default_ruleset

    words = completion_words(default_ruleset())
    sys.stdout.write(script(args.shell, build_parser(), words))
    return 0


START_HERE = """\
start here:
  advisor wizard                  answer a few questions; get the recommendation and a project
  advisor recommend --answers examples/tabular-sklearn.yml
                                  the recommendation for a bundled example (examples/*.yml)
  advisor quiz                    practise exam scenarios, explained by the rules

more: advisor --help (every command), advisor COMMAND --help (its options and examples),
      advisor completion bash|zsh|fish (shell completion)
"""


def _start_here() -> int:
    sys.stdout.write(
        f"advisor {__version__}: decision advisor and project generator for ML training on"
        f" Vertex AI.\n\n{START_HERE}"
    )
    return 0


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _terminate(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    # The CLI uses no pydantic plugins; without this pydantic scans every installed package's
    # entry points on first use, a large share of start-up time in a big environment.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    # SIGTERM unwinds like Ctrl-C, so `finally` blocks remove temporary folders (advisor new).
    signal.signal(signal.SIGTERM, _terminate)
    _safe_streams()
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        return _start_here()
    try:
        return handler(args)
    except AdvisorError as exc:
        print(f"advisor: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("\nadvisor: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return 0
    except OSError as exc:  # a read-only folder, a full disk, a name too long: not a crash
        where = f"{exc.filename}: " if exc.filename is not None else ""
        print(f"advisor: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so the exit flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _safe_streams() -> None:
    """Output a terminal cannot encode (LC_ALL=C, PYTHONIOENCODING=ascii) is escaped, not fatal."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure and (stream.encoding or "").lower().replace("-", "") != "utf8":
            with contextlib.suppress(ValueError, OSError):
                reconfigure(errors="backslashreplace")
