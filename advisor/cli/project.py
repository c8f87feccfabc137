"""The `new`, `wizard` and `update` commands (standard library only at import time)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from advisor.cli.options import HelpFormatter, add_answer_options, completes, example_epilog


def register(subparsers: Any) -> None:
    new = subparsers.add_parser(
        "new",
        help="generate the trainer project for an answers file (the wizard without --answers)",
        description=(
            "Generate the project the recommendation calls for. Without --answers the wizard asks"
            " the questions first. The project is rendered into a temporary folder and moved into"
            " place at the end; a non-empty folder is refused unless --force."
        ),
        epilog=example_epilog(
            "advisor new --answers examples/tabular-sklearn.yml --output churn",
            "advisor new --answers examples/bert-text-tpu.yml --pretend",
            "advisor new --answers answers.yml --set region=europe-west4 -o my-project",
        ),
        formatter_class=HelpFormatter,
    )
    add_answer_options(new)
    new.add_argument(
        "--output", "-o", type=Path, metavar="DIR", help="project folder (default: ./PROJECT_NAME)"
    )
    new.add_argument(
        "--force",
        action="store_true",
        help="write into a non-empty folder (its files are replaced)",
    )
    new.add_argument(
        "--pretend", action="store_true", help="print the files it would write; write nothing"
    )
    new.add_argument(
        "--diff", action="store_true", help="with --pretend: a unified diff against the folder"
    )
    new.set_defaults(handler=cmd_new)

    wizard = subparsers.add_parser(
        "wizard",
        help="the interactive interview; ends with the recommendation and the project",
        description=(
            "Ask the questions one at a time, show each decision as soon as it is reached, then"
            " the recommendation, and offer to generate the project. Ctrl-C stops (exit 130)"
            " and offers to save the answers given so far."
        ),
        epilog=example_epilog(
            "advisor wizard",
            "advisor wizard --answers answers.yml  # ask only what the file leaves open",
            "advisor wizard --set task=image_classification --output vision-project",
        ),
        formatter_class=HelpFormatter,
    )
    add_answer_options(wizard, "answers file: only the questions it leaves open are asked")
    wizard.add_argument("--output", "-o", type=Path, metavar="DIR", help="project folder")
    wizard.set_defaults(handler=cmd_wizard)

    update = subparsers.add_parser(
        "update",
        help="re-render a generated project and merge it with your edits",
        description=(
            "Re-render the project from its .advisor-answers.yml (changed with --set) and merge"
            " three-way with the last generated version: your edits are kept, overlapping"
            " changes get conflict markers (exit 1), files you deleted stay deleted."
        ),
        epilog=example_epilog(
            "advisor update --set hyperparameters=3",
            "advisor update my-project --set max_machines=2 --pretend",
        ),
        formatter_class=HelpFormatter,
    )
    update.add_argument(
        "project", nargs="?", type=Path, default=Path("."), metavar="DIR", help="default: ."
    )
    update_set = update.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="ID=VALUE",
        help="change one answer (repeatable)",
    )
    completes(update_set, "answers")
    update.add_argument("--pretend", action="store_true", help="print the plan; write nothing")
    update.set_defaults(handler=cmd_update)


def _default_output(answers: dict[str, Any]) -> Path:
    return Path(str(answers["project_name"]))


def cmd_new(args: argparse.Namespace) -> int:
    if args.answers is None:
        from advisor.cli.wizard import run_wizard

        return run_wizard(answers_path=None, overrides=args.overrides, output=args.output)
    from advisor.answers import load_answers
    from advisor.engine import default_ruleset

    answers = load_answers(default_ruleset().questions, args.answers, args.overrides)
    output = args.output or _default_output(answers)
    return generate_and_report(
        answers, output, force=args.force, pretend=args.pretend or args.diff, diff=args.diff
    )


def generate_and_report(
    answers: dict[str, Any], output: Path, *, force: bool, pretend: bool, diff: bool
) -> int:
    from advisor.project.generate import file_tree, generate_project

    result = generate_project(answers, output, force=force, pretend=pretend, diff=diff)
    files = result.project.files
    if pretend:
        if diff:
            sys.stdout.write(result.diff or f"{output}: no differences\n")
        else:
            sys.stdout.write(file_tree(str(output), list(files)))
        if output.is_dir() and any(output.iterdir()) and not force:
            print(f"note: {output} is not empty; writing needs --force", file=sys.stderr)
        return 0
    sys.stdout.write(file_tree(str(output), list(files)))
    print(f"\nWrote {len(files)} files ({result.project.stack} project) to {output}")
    step = next_step(result.project.stack)
    if step and (output / "Makefile").is_file():
        print(f"Next: cd {output} && {step}")
    return 0


def next_step(stack_name: str) -> str:
    """The stack's own next step, from its manifest (managed stacks have no train target)."""
    from advisor.project.stacks import load_stacks

    return next((s.next_step for s in load_stacks() if s.name == stack_name), "")


def cmd_wizard(args: argparse.Namespace) -> int:
    from advisor.cli.wizard import run_wizard

    return run_wizard(answers_path=args.answers, overrides=args.overrides, output=args.output)


def cmd_update(args: argparse.Namespace) -> int:
    from advisor.project.update import changed, describe, update_project

    result = update_project(args.project, args.overrides, pretend=args.pretend)
    shown = changed(result.changes)
    verb = "would change" if args.pretend else "changed"
    if result.base_source == "re-rendered":
        print(
            "note: no .advisor/base.json; the base was re-rendered from the stored answers",
            file=sys.stderr,
        )
    if not shown:
        print(
            f"{args.project}: up to date (answers file refreshed)"
            if not args.pretend
            else f"{args.project}: nothing to change"
        )
    for change in shown:
        print(f"{change.action:>13}  {change.path}  ({describe(change)})")
    conflicts = result.conflicts
    if conflicts:
        print(
            f"\n{len(conflicts)} file(s) {'would have' if args.pretend else 'have'} conflict"
            " markers (<<<<<<< yours / ||||||| last generated / ======= / >>>>>>> regenerated):",
            file=sys.stderr,
        )
        for change in conflicts:
            print(f"  {args.project / change.path}", file=sys.stderr)
        return 1
    if shown:
        print(f"\n{len(shown)} file(s) {verb}.")
    return 0
