"""The filters templates use to write values into code: what they write reads back unchanged."""

from __future__ import annotations

import ast
from typing import Any

import black
from hypothesis import example, given, settings
from hypothesis import strategies as st

from advisor.project.render import py_literal

scalars = st.one_of(
    st.text(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.tuples(inner),
        st.dictionaries(st.text(max_size=5), inner, max_size=3),
    ),
    max_leaves=8,
)


@settings(max_examples=500, deadline=None)
@given(values)
def test_py_literal_reads_back_as_the_same_value(value: Any) -> None:
    assert ast.literal_eval(py_literal(value)) == value


@settings(max_examples=300, deadline=None)
@given(st.text())
@example("'\"")  # both quote kinds, once each: black picks double quotes
def test_strings_are_quoted_as_black_quotes_them(value: str) -> None:
    line = f"X = {py_literal(value)}\n"
    assert black.format_str(line, mode=black.Mode(line_length=10_000)) == line
