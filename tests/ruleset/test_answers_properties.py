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
from advisor.ruleset.questions import Question, validate_answers
from tests.helpers.answers import valid_value

RULESET = default_ruleset()
QUESTIONS = RULESET.questions.questions


valid_answers = st.fixed_dictionaries({}, optional={q.id: valid_value(q) for q in QUESTIONS})
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


# ---- the validator and the schema editors see (`advisor schema`) agree ----

ANSWERS_MODEL = RULESET.questions.answers_model()
anything = st.one_of(
    junk,
    st.booleans(),
    st.sampled_from(["true", "no", "4", " 7 ", "1e3", "2.5", "nan", "inf", "-1"]),
    st.sampled_from([float("inf"), float("-inf"), float("nan"), 10**30, -(10**30)]),
    st.builds(lambda q: q.values[0] if q.values else "x", st.sampled_from(QUESTIONS)),
)


@settings(max_examples=600, deadline=None)
@given(st.sampled_from(QUESTIONS), anything)
def test_what_the_validator_accepts_the_schema_model_accepts_unchanged(
    question: Question, value: Any
) -> None:
    from pydantic import ValidationError

    try:
        accepted = validate_answers({question.id: value}, RULESET.questions, "prop")
    except BadAnswers:
        # refused: then the strict schema (no coercions) refuses it too
        try:
            ANSWERS_MODEL.model_validate({question.id: value}, strict=True)
        except ValidationError:
            return
        if isinstance(value, int) and abs(value) > 1.7e308:
            return  # beyond a float: refused on purpose, rules compare numbers as floats
        raise AssertionError(f"{question.id}: {value!r} fits the schema but was refused") from None
    model = ANSWERS_MODEL.model_validate({question.id: accepted[question.id]}, strict=True)
    assert getattr(model, question.id) == accepted[question.id]
    assert type(accepted[question.id]) is type(question.default) or question.type == "float"


@settings(max_examples=200, deadline=None)
@given(valid_answers)
def test_valid_answers_fit_the_schema_model(raw: dict[str, Any]) -> None:
    answers = validate_answers(raw, RULESET.questions, "prop")
    assert ANSWERS_MODEL.model_validate(answers).model_dump() == answers


def _question(kind: str) -> Question:
    return next(q for q in QUESTIONS if q.type == kind and (q.min is not None or kind != "int"))


def test_coercions_are_the_documented_ones() -> None:
    flag, count, number = _question("bool"), _question("int"), _question("float")
    ok = RULESET.questions

    def value(question: Question, raw: Any) -> Any:
        return validate_answers({question.id: raw}, ok, "t")[question.id]

    assert value(flag, "yes") is True and value(flag, "Off") is False and value(flag, 1) is True
    assert value(count, 4.0) == 4 and type(value(count, "4")) is int
    assert value(number, 1) == 1.0 and type(value(number, 1)) is float
    refused = ((flag, 2), (count, True), (count, 4.5), (number, float("nan")), (number, 10**400))
    for question, raw in refused:
        # a number too long to print is named for what it is, not echoed in full
        said = "a number too large" if raw == 10**400 else f"{raw!r} is not allowed"
        try:
            validate_answers({question.id: raw}, ok, "t.yml")
        except BadAnswers as exc:
            assert f"t.yml: field '{question.id}': {said}" in str(exc)
        else:
            raise AssertionError(f"{question.id}={raw!r} was accepted")


def test_patterns_match_the_whole_value() -> None:
    text = next(q for q in QUESTIONS if q.type == "text" and q.pattern and "gs://" in q.pattern)
    assert validate_answers({text.id: "gs://my-bucket"}, RULESET.questions, "t")
    for bad in ("gs://my-bucket\n", "xgs://my-bucket", "gs://my-bucket/extra/path"):
        try:
            validate_answers({text.id: bad}, RULESET.questions, "t")
        except BadAnswers:
            continue
        raise AssertionError(f"{bad!r} was accepted")
