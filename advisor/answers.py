"""Reading answers: a YAML/JSON file plus `--set id=value` overrides, validated in one place.

Every way answers reach the tool goes through here: an answers file, a generated project's
`.advisor-answers.yml` record, `--set` flags and the wizard's preset. Each part is validated on
its own first, so an error names the file or flag it came from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from advisor.errors import BadAnswers
from advisor.fileio import shown
from advisor.ruleset.questions import QuestionSet, validate_answers
from advisor.ruleset.yamlio import YamlLimitError, load_yaml_file, load_yaml_text

# The answers a generated project keeps (with the versions that made it), for `update`.
ANSWERS_FILE = ".advisor-answers.yml"


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


def parse_set_flags(flags: Sequence[str], questions: QuestionSet | None = None) -> dict[str, Any]:
    """`--set id=value` pairs.

    With `questions`, the value of a known id is the text as typed (its question converts it:
    `4`, `0.5`, `true`), so `no` stays a name, `1:30` is not read as 90 and `a # b` keeps its
    `#`. Without, values are read as YAML scalars (`true`, `4`, `0.5` get types).
    """
    values: dict[str, Any] = {}
    for flag in flags:
        key, sep, text = flag.partition("=")
        if not sep or not key.strip():
            raise BadAnswers(f"--set {shown(flag)}: expected ID=VALUE")
        try:
            flag.encode("utf-8")
        except UnicodeEncodeError:  # bytes the terminal could not decode arrive as surrogates
            raise BadAnswers(f"--set {shown(flag)}: not valid UTF-8 text") from None
        if questions is not None and key.strip() in questions.by_id:
            values[key.strip()] = text.strip()
            continue
        try:
            value = load_yaml_text(text) if text.strip() else ""
        except yaml.YAMLError:
            value = text
        except YamlLimitError as exc:
            raise BadAnswers(f"--set {key.strip()}: refused: {exc}") from None
        if isinstance(value, (Mapping, list)):
            value = text
        values[key.strip()] = value
    return values


def read_project_answers(project_dir: Path) -> dict[str, Any]:
    """The answers stored in a generated project's record (not yet validated)."""
    path = project_dir / ANSWERS_FILE
    data = load_yaml_file(path, BadAnswers)
    answers = data.get("answers") if isinstance(data, Mapping) else None
    if not isinstance(answers, Mapping):
        raise BadAnswers(f"{path}: field 'answers': expected a mapping of question ids to values")
    return {str(key): value for key, value in answers.items()}


def given_answers(
    questions: QuestionSet,
    path: Path | None = None,
    overrides: Sequence[str] = (),
    *,
    stored: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The answers given (file or `stored` record, then `--set`), each part checked on its own.

    Unanswered questions stay absent: the wizard asks them, `load_answers` fills defaults.
    """
    origin = str(path) if path is not None else "answers"
    raw: dict[str, Any] = dict(stored) if stored is not None else {}
    if path is not None:
        raw = read_answers_file(path) if stored is None else raw
        validate_answers(raw, questions, origin)
    flags = parse_set_flags(overrides, questions)
    checked = validate_answers(flags, questions, "--set")
    return {**raw, **{key: checked[key] for key in flags}}


def load_answers(
    questions: QuestionSet,
    path: Path | None = None,
    overrides: Sequence[str] = (),
    *,
    stored: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Validated answers, defaults filled, from a file (optional) and `--set` flags."""
    given = given_answers(questions, path, overrides, stored=stored)
    return validate_answers(given, questions, str(path) if path else "--set")
