"""Hostile user strings: each is refused with exit 2, or every stack's output still parses and
carries it verbatim (Python literals, JSON, YAML, CSV) or quoted for its language (shell, SQL).

The stacks are those of templates/stacks/ whose folders exist, so a stack added later is
covered without touching this file (its answers come from CANDIDATES below).
"""

from __future__ import annotations

import ast
import csv
import io
import json
import shlex
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from advisor.answers import ANSWERS_FILE
from advisor.cli import main
from advisor.engine import default_ruleset
from advisor.errors import BadAnswers
from advisor.paths import templates_dir
from advisor.project.generate import BASE_FILE, build_project
from advisor.project.render import load_stacks, select_stack, sql_identifier, sql_string
from advisor.ruleset.questions import validate_answers
from tests.helpers.gen import recommendation_for

BASE: dict[str, Any] = {"project_name": "hostile-test", "label_column": "label"}
# Answers that lead to each stack; the first whose recommendation selects a stack is used.
CANDIDATES: list[dict[str, Any]] = [
    {
        "task": "tabular_classification",
        "hyperparameters": 2,
        "all_params_discrete": True,
        "search_points": 12,
    },
    {"task": "tabular_regression", "framework": "xgboost"},
    {"task": "tabular_classification", "framework": "tensorflow", "model_family": "mlp"},
    {"task": "tabular_classification", "framework": "pytorch", "model_family": "mlp"},
    {"task": "tabular_classification", "framework": "pytorch_lightning", "model_family": "mlp"},
    {
        "task": "image_classification",
        "framework": "pytorch",
        "model_family": "transformer",
        "model_parameters": 2_000_000_000,
        "max_machines": 8,
        "expected_training_hours": 500,
    },
    {"task": "tabular_classification", "team": "no_ml_expertise"},
    {"task": "sentiment_analysis", "team": "no_ml_expertise", "labeled_examples": 1000},
    {"task": "tabular_classification", "team": "sql_analysts", "data_location": "bigquery"},
    {"task": "image_classification", "labels": "generic"},
    {
        "task": "tabular_classification",
        "data_location": "on_premises",
        "data_must_stay_on_premises": True,
    },
]

# Accepted free text (label_column): several attacks per string keeps the test fast.
ACCEPTED = {
    "quotes": "q'd\"b\\t'''\"\"\"\\",
    "template_and_shell": "{{ 7*7 }} {% raw %} {# c #} $(touch pwned) `id` ${HOME}",
    "shell_csv_yaml": '; rm -rf / # && curl x | sh, "c" key: value - [x] &a *b !!python/object',
    "unicode_and_formats": "ünï ☃ 中文 عربي %s {0} \\N{BULLET} --help",
    "yaml_keywords": "null",
    "spaces": "  lead and trail  ",
    "max_length": "x" * 128,
}
# Refused by every text question's format.
REFUSED = {
    "newline": "line\nbreak",
    "carriage_return": "cr\rreturn",
    "nul": "nul\x00byte",
    "tab": "tab\tchar",
    "line_separator": "sep\u2028line",
    "next_line": "\x85nel",
    # "Trojan source": text that displays otherwise than it reads (bidi, invisible marks)
    "bidi_override": "a\u202eevil\u202c",
    "zero_width": "a\u200bb\ufeff",
    "ten_kb": "x" * 10_000,
}
FREE_TEXT = "label_column"  # any column name: quoted for each language it reaches
# Every other text question has a format (a slug, an id, a gs:// URI, an email...).
FORMAT_FIELDS = [
    q.id for q in default_ruleset().questions.questions if q.type == "text" and q.id != FREE_TEXT
]
# A plain, unique value per field (valid for its format) standing where the hostile one goes.
MARKERS = {
    "label_column": "zzlabelmarkerzz",
    "project_name": "zzprojectmarkerzz",
    "gcp_project": "zzgcpmarkerzz",
    "region": "me-west1",  # regions are a closed list (rules/catalogue/regions.yaml)
    "bucket": "gs://zzbucketmarkerzz",
    "id_columns": "zzidmarkerzz",
    "experiment": "zzexperimentmarkerzz",
}


def accepted(field: str, value: str) -> bool:
    try:
        validate_answers({field: value}, default_ruleset().questions, "test")
    except BadAnswers:
        return False
    return True


HOSTILE = {**ACCEPTED, **REFUSED}
FIELDS = [FREE_TEXT, *FORMAT_FIELDS]
# Each (field, string): checked as carried verbatim when its format accepts it, else refused.
CARRIED = [(f, n) for f in FIELDS for n in HOSTILE if accepted(f, HOSTILE[n])]
REFUSAL_CASES = [(f, n) for f in FIELDS for n in HOSTILE if not accepted(f, HOSTILE[n])]


def existing_stacks() -> list[str]:
    return [stack.name for stack in load_stacks(templates_dir())]


@cache
def answers_for(stack: str) -> dict[str, Any]:
    for candidate in CANDIDATES:
        if select_stack(recommendation_for({**BASE, **candidate})) == stack:
            return {**BASE, **candidate}
    raise AssertionError(f"no answers in CANDIDATES lead to the '{stack}' stack: add some")


@cache
def marker_project(stack: str, field: str) -> dict[str, str]:
    return build_project({**answers_for(stack), field: MARKERS[field]}).files


def strings_in(value: Any) -> Iterator[str]:
    """Every string (keys and values) inside parsed JSON/YAML data."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings_in(key)
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


def literals(rel: str, text: str) -> set[str]:
    """The string literals of a file as its language reads them (None: not a parsed format)."""
    if rel.endswith(".py"):
        tree = ast.parse(text, filename=rel)
        return {
            n.value
            for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str)
        }
    if rel.endswith(".json"):
        return set(strings_in(json.loads(text)))
    if rel.endswith((".yml", ".yaml")):
        return set(strings_in(yaml.safe_load(text)))
    if rel.endswith(".csv"):
        return {cell for row in csv.reader(io.StringIO(text)) for cell in row}
    raise ValueError(rel)


PARSED = (".py", ".json", ".yml", ".yaml", ".csv")
SHELL = ("Makefile", "Dockerfile", ".sh")


def test_the_free_text_field_accepts_every_hostile_string_it_should() -> None:
    assert [n for f, n in CARRIED if f == FREE_TEXT] == list(ACCEPTED)
    assert {"project_name", "gcp_project", "region", "bucket"} <= set(FORMAT_FIELDS)


@pytest.mark.parametrize("stack", existing_stacks())
@pytest.mark.parametrize(("field", "name"), CARRIED)
def test_accepted_hostile_string_is_carried_verbatim(stack: str, field: str, name: str) -> None:
    hostile = HOSTILE[name]
    assert field in MARKERS, f"{field} accepts {hostile!r}: add a plain marker value to MARKERS"
    marker = MARKERS[field]
    answers = {**answers_for(stack), field: hostile}
    validate_answers(answers, default_ruleset().questions, "test")  # accepted by the format
    files = build_project(answers).files
    plain = marker_project(stack, field)
    assert set(files) == set(plain), "a user string changed which files are generated"
    stored = yaml.safe_load(files[ANSWERS_FILE])
    assert stored["answers"][field] == hostile
    json.loads(files[BASE_FILE])
    for rel, text in files.items():
        if rel == BASE_FILE:
            continue  # the generated files themselves, as JSON strings: parsed above
        if rel.endswith(PARSED):
            found = literals(rel, text)  # parses, or the test fails here
            expected = {
                s.replace(marker, hostile) for s in literals(rel, plain[rel]) if marker in s
            }
            missing = expected - found
            assert not missing, f"{rel}: the label is not carried verbatim: {missing}"
        elif field != FREE_TEXT:
            continue  # slugs and ids: quoting is checked on the free-text field
        elif rel.endswith(SHELL) and marker in plain[rel]:
            # The marker needs no quoting, so in the hostile render it must be shell-quoted.
            assert text == plain[rel].replace(marker, shlex.quote(hostile)), f"{rel}: unquoted"
        elif rel.endswith(".sql") and marker in plain[rel]:
            # Every occurrence must be a quoted identifier or a string literal.
            expected = (
                plain[rel]
                .replace(sql_identifier(marker), sql_identifier(hostile))
                .replace(sql_string(marker), sql_string(hostile))
            )
            unquoted = (
                plain[rel].replace(sql_identifier(marker), "").replace(sql_string(marker), "")
            )
            assert marker not in unquoted, f"{rel}: used unquoted"
            assert text == expected, f"{rel}: the label is not quoted for BigQuery"


@pytest.mark.parametrize(("field", "name"), REFUSAL_CASES)
def test_hostile_strings_are_refused_with_exit_2(
    field: str, name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hostile = HOSTILE[name]
    answers_file = tmp_path / "answers.yml"
    answers_file.write_text(yaml.safe_dump({**BASE, field: hostile}), encoding="utf-8")
    out = tmp_path / "out"
    code = main(["new", "--answers", str(answers_file), "--output", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert str(answers_file) in err and f"field '{field}'" in err and "expected" in err
    assert "Traceback" not in err
    assert not out.exists()
