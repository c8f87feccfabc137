"""Test helper: generate a project for some answers into a folder, through the real pipeline.

`render_to` runs what `advisor new` runs (validation, engine, rendering, black, parse checks,
`.advisor-answers.yml`, the atomic move into place), so every stack's tests exercise it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from advisor.engine import Recommendation, default_ruleset, recommend
from advisor.project.generate import generate_project
from advisor.ruleset.questions import validate_answers


def recommendation_for(answers: Mapping[str, Any]) -> Recommendation:
    ruleset = default_ruleset()
    return recommend(validate_answers(dict(answers), ruleset.questions, "test"), ruleset)


def render_to(answers: Mapping[str, Any], dest: Path) -> Path:
    """Generate the project for `answers` into `dest` (created, or written into) and return it."""
    generate_project(dict(answers), dest, force=True, origin="test")
    return dest
