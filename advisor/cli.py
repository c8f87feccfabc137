"""The `advisor` command line: a thin layer over the library (argparse keeps start-up fast)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from advisor import __version__
from advisor.errors import AdvisorError

Handler = Callable[[argparse.Namespace], int]


def _add_answer_options(parser: argparse.ArgumentParser, required: bool = False) -> None:
    parser.add_argument("--answers", type=Path, metavar="FILE", required=required,
                        help="answers file (YAML or JSON)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="ID=VALUE",
                        help="set or override one answer (repeatable)")


def cmd_recommend(args: argparse.Namespace) -> int:
    from advisor.answers_io import load_answers
    from advisor.engine import default_ruleset, recommend
    from advisor.present import print_json, print_recommendation

    ruleset = default_ruleset()
    answers = load_answers(ruleset.questions, args.answers, args.overrides)
    rec = recommend(answers, ruleset)
    if args.json:
        print_json(rec.to_json())
    else:
        print_recommendation(rec, ruleset)
    return 0


def cmd_rules_check(args: argparse.Namespace) -> int:
    from advisor.check import check_ruleset
    from advisor.engine import default_ruleset
    from advisor.present import print_check, print_json

    report = check_ruleset(default_ruleset())
    if args.json:
        print_json({
            "ok": report.ok,
            "points": report.points,
            "cases": report.cases_run,
            "seconds": round(report.seconds, 3),
            "decisions": [vars(d) for d in report.decisions],
            "case_failures": report.case_failures,
        })
    else:
        print_check(report)
    return 0 if report.ok else 1


def cmd_rules_list(args: argparse.Namespace) -> int:
    from advisor.engine import default_ruleset
    from advisor.present import print_rule_list

    print_rule_list(default_ruleset())
    return 0


def cmd_rules_show(args: argparse.Namespace) -> int:
    import difflib

    from advisor.engine import default_ruleset
    from advisor.present import print_rule

    ruleset = default_ruleset()
    rule = ruleset.by_id.get(args.rule_id.upper())
    if rule is None:
        close = difflib.get_close_matches(args.rule_id.upper(), list(ruleset.by_id), n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise AdvisorError(f"no rule with id '{args.rule_id}'{hint}")
    print_rule(rule)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="advisor",
        description="Decision advisor and project generator for ML training on Vertex AI.",
    )
    parser.add_argument("--version", action="version", version=f"advisor {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    rec = commands.add_parser("recommend", help="run the rules over answers and print the recommendation")
    _add_answer_options(rec)
    rec.add_argument("--json", action="store_true", help="print the recommendation as JSON")
    rec.set_defaults(handler=cmd_recommend)

    rules = commands.add_parser("rules", help="check and browse the decision rules")
    rules_commands = rules.add_subparsers(dest="rules_command", metavar="SUBCOMMAND")
    check = rules_commands.add_parser("check", help="prove the rule set complete and consistent")
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.set_defaults(handler=cmd_rules_check)
    rules_commands.add_parser("list", help="list every rule").set_defaults(handler=cmd_rules_list)
    show = rules_commands.add_parser("show", help="show one rule")
    show.add_argument("rule_id", metavar="ID")
    show.set_defaults(handler=cmd_rules_show)
    rules.set_defaults(handler=lambda _args: _usage(rules))

    for register in _extensions():
        register(commands)
    return parser


def _extensions() -> list[Callable[[argparse._SubParsersAction], None]]:  # type: ignore[type-arg]
    """The `register` functions of the command modules listed in advisor.commands."""
    import importlib

    from advisor.commands import COMMAND_MODULES

    return [importlib.import_module(name).register for name in COMMAND_MODULES]


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    # The CLI uses no pydantic plugins; without this pydantic scans every installed package's
    # entry points on first use, a large share of start-up time in a big environment.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        return _usage(parser)
    try:
        return handler(args)
    except AdvisorError as exc:
        print(f"advisor: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("\nadvisor: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
