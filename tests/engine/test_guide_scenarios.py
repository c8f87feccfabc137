"""The guide's own exam scenarios and decision-framework items, each with the guide's answer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from advisor.engine import recommend
from advisor.ruleset.questions import validate_answers
from advisor.ruleset.rules import RuleSet

FOLDER = Path(__file__).parent / "guide_scenarios"
FILES = sorted(FOLDER.glob("*.yaml"))


def test_both_common_exam_scenario_lists_are_covered() -> None:
    names = {path.stem for path in FILES}
    assert sum(name.startswith("exam-") for name in names) == 8
    assert sum(name.startswith("study-") for name in names) == 8
    assert len(names) >= 30


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_guide_scenario(path: Path, ruleset: RuleSet) -> None:
    scenario = yaml.safe_load(path.read_text(encoding="utf-8"))
    answers = validate_answers(scenario["answers"], ruleset.questions, str(path))
    rec = recommend(answers, ruleset)
    for decision, expected in scenario["expect"].items():
        output: dict[str, Any] = rec.decisions.get(decision) or rec.top[decision]
        wanted = expected if isinstance(expected, dict) else {"choice": expected}
        for key, value in wanted.items():
            assert output.get(key) == value, (
                f"{path.stem}: {decision}.{key} is {output.get(key)!r} (rule {output['rule']}),"
                f" the guide says {value!r}"
            )
