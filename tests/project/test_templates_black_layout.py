"""Templates are written in black's layout: rendered Python is already what black would write.

`advisor new` still runs black, but on text that is already formatted black has little to do,
which is most of a first run's time. A template edit that breaks the layout fails here with the
diff to apply.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import black
import pytest
from black.mode import TargetVersion

from advisor.answers import read_answers_file
from advisor.project import generate
from tests.conftest import REPO
from tests.helpers.targets import TARGETS, answers_for

MODE = black.Mode(line_length=100, target_versions={TargetVersion.PY311})
EXAMPLES = sorted((REPO / "examples").glob("*.yml"))
# one target per trainer stack, tuned, so best_trial.py and the study spec render too
TRAINERS = {framework: (name, extra) for name, framework, extra, _, _ in TARGETS}


def _unformatted(raw: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setattr(generate, "format_python", lambda rel, text: text)
    project = generate.build_project(raw, "layout-test")
    return {rel: text for rel, text in project.files.items() if rel.endswith(".py")}


def _check(files: dict[str, str]) -> None:
    problems = []
    for rel, text in sorted(files.items()):
        formatted = black.format_str(text, mode=MODE)
        if formatted != text:
            diff = difflib.unified_diff(
                text.splitlines(), formatted.splitlines(), "rendered", "black", lineterm="", n=1
            )
            problems.append(f"{rel}:\n" + "\n".join(diff))
    assert not problems, "\n\n".join(problems)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_projects_render_in_blacks_layout(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _check(_unformatted(read_answers_file(path), monkeypatch))


@pytest.mark.parametrize("framework", sorted(TRAINERS))
def test_trainer_stacks_render_in_blacks_layout(
    framework: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _name, extra = TRAINERS[framework]
    _check(_unformatted(answers_for(framework, extra, "bayesian", True), monkeypatch))
