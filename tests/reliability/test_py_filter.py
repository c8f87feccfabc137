"""The templates' `py` filter writes strings as black does (the `make test` failure on '")."""

from __future__ import annotations

import ast

import black
import pytest

from advisor.project.render import py_literal

MODE = black.Mode(line_length=10_000)


@pytest.mark.parametrize("value", ["'\"", "''\"", '\'""', "\\'\"", "a'b\"c\\n", '"', "'"])
def test_strings_with_both_quote_kinds_are_quoted_as_black_quotes_them(value: str) -> None:
    line = f"X = {py_literal(value)}\n"
    assert black.format_str(line, mode=MODE) == line
    assert ast.literal_eval(py_literal(value)) == value
