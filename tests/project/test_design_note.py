"""Every generated project carries its design note (DESIGN.md), linked from its README."""

from __future__ import annotations

import pytest

from advisor.engine import default_ruleset
from advisor.engine.report import design_note
from advisor.project.render import render_project
from advisor.project.stacks import load_stacks
from tests.helpers.gen import recommendation_for
from tests.helpers.targets import STACK_ANSWERS


@pytest.mark.parametrize("stack", sorted(s.name for s in load_stacks()))
def test_each_stack_writes_the_design_note_and_links_it(stack: str) -> None:
    rec = recommendation_for(STACK_ANSWERS[stack])
    files = render_project(rec)
    assert files["DESIGN.md"] == design_note(rec, default_ruleset())
    assert files["DESIGN.md"].startswith(f"# Design note: {rec.answers['project_name']}")
    assert "[DESIGN.md](DESIGN.md)" in files["README.md"]
