"""Property tests: random answers, valid and invalid, never crash the engine.

Every valid set of answers gets a recommendation with one choice per decision; every invalid one
gets a clean BadAnswers naming the field.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advisor.engine import default_ruleset, recommend
from advisor.errors import BadAnswers
from advisor.questions import Question, validate_answers

RULESET = default_ruleset()
QUESTIONS = RULESET.questions.questions


def _valid_value(question: Question) -> st.SearchStrategy[Any]:
    if question.type == "choice":
        return st.sampled_from(question.values)
    if question.type == "bool":
        return st.booleans()
    if question.type == "int":
        high = int(question.max) if question.max is not None else 10**10
        return st.integers(min_value=int(question.min or 0), max_value=high)
    if question.type == "float":
        high = question.max if question.max is not None else 1e6
        return st.floats(min_value=question.min or 0, max_value=high, allow_nan=False)
    return st.just(question.default)


valid_answers = st.fixed_dictionaries({}, optional={q.id: _valid_value(q) for q in QUESTIONS})
junk = st.one_of(
    st.text(max_size=20), st.integers(), st.floats(), st.none(), st.lists(st.integers(), max_size=2)
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(valid_answers)
def test_every_valid_answer_set_gets_a_full_recommendation(raw: dict[str, Any]) -> None:
    rec = recommend(validate_answers(raw, RULESET.questions, "prop"), RULESET)
    for decision in RULESET.decisions:
        if decision.kind == "single":
            choice = rec.choice(decision.name)
            assert choice in decision.choices, (decision.name, choice)
    assert rec.to_json()["decisions"]["service"]["rule"].startswith("SVC-")


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(valid_answers, st.sampled_from(QUESTIONS), junk)
def test_invalid_values_get_a_clean_error(
    raw: dict[str, Any], question: Question, value: Any
) -> None:
    raw = {**raw, question.id: value}
    try:
        validate_answers(raw, RULESET.questions, "prop.yml")
    except BadAnswers as exc:
        assert f"prop.yml: field '{question.id}'" in str(exc)
    else:  # the junk happened to be valid (e.g. an int for a float question): it must recommend
        recommend(validate_answers(raw, RULESET.questions, "prop.yml"), RULESET)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=12), st.integers(), min_size=1, max_size=3))
def test_unknown_ids_are_rejected(raw: dict[str, Any]) -> None:
    known = set(RULESET.questions.by_id)
    if set(raw) <= known:
        return
    try:
        validate_answers(raw, RULESET.questions, "prop.yml")
    except BadAnswers as exc:
        assert "unknown question id" in str(exc) or "field" in str(exc)
    else:
        raise AssertionError("unknown ids were accepted")
