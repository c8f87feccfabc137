"""hypothesis strategies for answers: any value a question accepts."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from advisor.ruleset.questions import Question


def valid_value(question: Question) -> st.SearchStrategy[Any]:
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
