"""Every rule's own cases (one where it fires, one where it does not), one test id each.

`pytest -k HW-TPU-POD` runs the cases of one rule, as sqlfluff does for its rules.
"""

from __future__ import annotations

import pytest

from advisor.engine import default_ruleset
from advisor.engine.check import case_problem

RULESET = default_ruleset()
CASES = [(rule.id, case.name) for rule in RULESET.by_id.values() for case in rule.cases]


@pytest.mark.parametrize(("rule_id", "case"), CASES, ids=[f"{r}_{c}" for r, c in CASES])
def test_rule_case(rule_id: str, case: str) -> None:
    assert case_problem(RULESET.by_id[rule_id], case, RULESET) is None


def test_every_rule_has_a_firing_and_a_non_firing_case() -> None:
    for rule in RULESET.by_id.values():
        outcomes = {case.fires for case in rule.cases}
        assert outcomes == {True, False}, f"{rule.id} needs a case that fires and one that does not"
