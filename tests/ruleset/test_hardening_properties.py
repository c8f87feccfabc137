"""Hardening: many random answers files, valid and invalid, through recommend and new.

In process (fast): at least 1,000 random answer sets are validated, recommended and rendered; every
valid one renders a project whose Python, JSON and YAML files parse and that has no Jinja left.
Through the real CLI (slower, fewer): `advisor recommend` and `advisor new` on random files never
print a traceback and exit 0 or 2.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advisor.engine import default_ruleset, recommend
from advisor.errors import AdvisorError
from advisor.project.render import render_project
from advisor.ruleset.questions import Question, validate_answers
from tests.conftest import run_advisor
from tests.helpers.answers import valid_value

RULESET = default_ruleset()
QUESTIONS = RULESET.questions.questions
TEXT_VALUES = {
    "project_name": st.from_regex(r"\A[a-z][a-z0-9-]{0,20}\Z"),
    "gcp_project": st.from_regex(r"\A[a-z][a-z0-9-]{4,12}[a-z0-9]\Z"),
    "region": st.sampled_from(["us-central1", "europe-west4", "asia-southeast1"]),
    "bucket": st.from_regex(r"\Ags://[a-z0-9][a-z0-9-]{2,20}[a-z0-9]\Z"),
    "label_column": st.text(
        st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=30
    ),
}


def _value(question: Question) -> st.SearchStrategy[Any]:
    """Valid values; text answers get values of their format, not only the default."""
    if question.type == "text":
        return TEXT_VALUES.get(question.id, st.just(question.default))
    return valid_value(question)


VALID = st.fixed_dictionaries({}, optional={q.id: _value(q) for q in QUESTIONS})
JUNK = st.one_of(st.text(max_size=12), st.integers(-5, 10**6), st.none(), st.booleans())
MAYBE_INVALID = st.one_of(
    VALID,
    st.tuples(VALID, st.sampled_from([q.id for q in QUESTIONS]), JUNK).map(
        lambda t: {**t[0], t[1]: t[2]}
    ),
    st.tuples(VALID, st.text(min_size=1, max_size=10), JUNK).map(lambda t: {**t[0], t[1]: t[2]}),
)


def _assert_parses(rel: str, text: str) -> None:
    bare = text.replace("${{", "")  # a GitHub Actions expression, not Jinja
    assert "{{" not in bare and "{%" not in bare, f"{rel}: Jinja left in the output"
    if rel.endswith(".py"):
        ast.parse(text, filename=rel)
    elif rel.endswith(".json"):
        json.loads(text)
    elif rel.endswith((".yml", ".yaml")):
        yaml.safe_load(text)


@settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck))
@given(MAYBE_INVALID)
def test_random_answers_recommend_and_render_or_fail_cleanly(raw: dict[str, Any]) -> None:
    try:
        answers = validate_answers(raw, RULESET.questions, "random.yml")
    except AdvisorError as exc:
        assert exc.exit_code == 2 and str(exc).startswith("random.yml: field '")
        return
    files = render_project(recommend(answers, RULESET))
    assert files
    for rel, text in files.items():
        _assert_parses(rel, text)


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(raw=MAYBE_INVALID)
def test_random_answers_files_through_the_cli(raw: dict[str, Any], tmp_path_factory: Any) -> None:
    folder: Path = tmp_path_factory.mktemp("cli")
    answers = folder / "answers.json"
    answers.write_text(json.dumps(raw), encoding="utf-8")
    for args in (
        ["recommend", "--answers", str(answers), "--json"],
        ["new", "--answers", str(answers), "--output", str(folder / "project")],
    ):
        result = run_advisor(*args)
        assert "Traceback" not in result.stderr, result.stderr
        assert result.returncode in (0, 2), (args, result.returncode, result.stderr)
        if result.returncode == 2:
            assert "answers.json" in result.stderr
            assert not (folder / "project").exists() or args[0] == "recommend"
