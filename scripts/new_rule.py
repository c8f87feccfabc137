"""Scaffold a rule: `python scripts/new_rule.py DECISION ID --when FACT=VALUE --choice CHOICE`.

Writes rules/DECISION/ID.yaml with the fields every rule has, a `when` on one fact, and two cases
(one where it fires, one where it does not), then loads the rule set to prove the file is well
formed. The `because` and `source` are left for you to write; `advisor rules check` then says
where the new rule wins, overlaps or never wins. Never overwrites a file (exit 2).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

from advisor.errors import AdvisorError
from advisor.paths import rules_dir
from advisor.ruleset.rules import RuleSet, load_rules

TODO_BECAUSE = (
    "TODO: why this choice follows, in a sentence a learner can check against the source."
)
TODO_SOURCE = "TODO: the guide section ('guide: Section / Subsection') or a public URL"


def _value(text: str) -> Any:
    return yaml.safe_load(text) if text.strip() else ""


def _other_value(ruleset: RuleSet, fact: str, value: Any) -> Any:
    """A value of `fact` that differs from `value`, for the case where the rule does not fire."""
    question = ruleset.questions.by_id.get(fact)
    if question is not None and question.type == "choice":
        return next(v for v in question.values if v != value)
    if question is not None and question.type == "bool":
        return not value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value + 1
    raise AdvisorError(f"--when {fact}: give the not-firing case's answers by hand")


def scaffold(decision: str, rule_id: str, when: str, choice: str, priority: int) -> Path:
    root = rules_dir()
    ruleset = load_rules(root)
    if decision not in ruleset.decision_names:
        raise AdvisorError(
            f"{decision}: not a decision; one of {', '.join(ruleset.decision_names)}"
        )
    allowed = ruleset.decision(decision).choices
    if allowed and choice not in allowed:
        raise AdvisorError(
            f"--choice {choice}: not a {decision} choice; one of {', '.join(allowed)}"
        )
    fact, sep, text = when.partition("=")
    if not sep or fact not in ruleset.questions.by_id:
        known = ", ".join(q.id for q in ruleset.questions.questions)
        raise AdvisorError(f"--when {when}: expected FACT=VALUE with a question id ({known})")
    value = _value(text)
    path = root / decision / f"{rule_id}.yaml"
    if path.exists():
        raise AdvisorError(f"{path}: already exists; edit it, or choose another id")
    rule = {
        "id": rule_id,
        "decision": decision,
        "priority": priority,
        "title": f"TODO: a one-line title for {rule_id}",
        "when": {"fact": fact, "eq": value},
        "then": {"choice": choice},
        "because": TODO_BECAUSE,
        "source": TODO_SOURCE,
        "cases": [
            {"name": "fires", "answers": {fact: value}, "fires": True},
            {
                "name": "other",
                "answers": {fact: _other_value(ruleset, fact, value)},
                "fires": False,
            },
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "x", encoding="utf-8") as handle:  # "x": never replace a file
        yaml.safe_dump(rule, handle, sort_keys=False, allow_unicode=True, width=100)
    try:
        load_rules(root)
    except AdvisorError:
        path.unlink()
        raise
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("decision", help="the decision folder under rules/, e.g. hardware")
    parser.add_argument("rule_id", metavar="ID", help="e.g. HW-L4-INFERENCE")
    parser.add_argument("--when", required=True, metavar="FACT=VALUE")
    parser.add_argument("--choice", required=True, help="the choice the rule makes")
    parser.add_argument("--priority", type=int, default=50, help="lower wins (default 50)")
    args = parser.parse_args(argv)
    try:
        path = scaffold(args.decision, args.rule_id, args.when, args.choice, args.priority)
    except AdvisorError as exc:
        print(f"new_rule: error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    print("next: write its title, because and source; then run")
    print(f"  advisor rules check && python -m pytest tests/ruleset -k {args.rule_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
