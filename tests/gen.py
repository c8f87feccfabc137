"""Test helper: render a project for some answers into a folder (no CLI involved)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from advisor.engine import Recommendation, default_ruleset, recommend
from advisor.questions import validate_answers
from advisor.render import render_project


def recommendation_for(answers: Mapping[str, Any]) -> Recommendation:
    ruleset = default_ruleset()
    return recommend(validate_answers(dict(answers), ruleset.questions, "test"), ruleset)


def render_to(answers: Mapping[str, Any], dest: Path) -> Path:
    """Render the project for `answers` into `dest` and return it."""
    files = render_project(recommendation_for(answers))
    for rel, text in files.items():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return dest
