"""Reading answers: a YAML/JSON file plus `--set id=value` overrides, validated in one place."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from advisor.errors import BadAnswers
from advisor.questions import QuestionSet, validate_answers
from advisor.yamlio import load_yaml_file, load_yaml_text


def read_answers_file(path: Path) -> dict[str, Any]:
    """The raw mapping of an answers file (not yet validated)."""
    if path.is_dir():
        raise BadAnswers(f"{path}: is a folder, not an answers file")
    data = load_yaml_file(path, BadAnswers)
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise BadAnswers(f"{path}: an answers file must be a mapping of question ids to values")
    if "advisor_version" in data and "answers" in data:  # a generated project's record
        data = data["answers"]
        if not isinstance(data, Mapping):
            raise BadAnswers(
                f"{path}: field 'answers': expected a mapping of question ids to values"
            )
    return {str(key): value for key, value in data.items()}


def parse_set_flags(flags: Sequence[str]) -> dict[str, Any]:
    """`--set id=value` pairs; values are read as YAML scalars (`true`, `4`, `0.5` get types)."""
    values: dict[str, Any] = {}
    for flag in flags:
        key, sep, text = flag.partition("=")
        if not sep or not key.strip():
            raise BadAnswers(f"--set {flag}: expected ID=VALUE")
        try:
            value = load_yaml_text(text) if text.strip() else ""
        except yaml.YAMLError:
            value = text
        if isinstance(value, (Mapping, list)):
            value = text
        values[key.strip()] = value
    return values


def load_answers(
    questions: QuestionSet, path: Path | None = None, overrides: Sequence[str] = ()
) -> dict[str, Any]:
    """Validated answers from a file (optional) and `--set` flags; errors name their origin."""
    raw: dict[str, Any] = read_answers_file(path) if path is not None else {}
    validate_answers(raw, questions, str(path) if path else "answers")
    flags = parse_set_flags(overrides)
    validate_answers(flags, questions, "--set")
    return validate_answers({**raw, **flags}, questions, str(path) if path else "--set")
