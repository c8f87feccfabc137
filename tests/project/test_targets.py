"""The shared answer tables (tests/helpers/targets.py) lead the engine where they say, asserted
once here so the tests that use them can rely on it."""

from __future__ import annotations

import pytest

from advisor.project.stacks import load_stacks, select_stack
from tests.helpers.gen import recommendation_for
from tests.helpers.targets import STACK_ANSWERS, STACK_CASES, TARGETS, answers_for


def test_every_stack_has_an_answer_set() -> None:
    assert set(STACK_ANSWERS) == {stack.name for stack in load_stacks()}


@pytest.mark.parametrize("stack", sorted(STACK_ANSWERS))
def test_stack_answers_select_their_stack(stack: str) -> None:
    assert select_stack(recommendation_for(STACK_ANSWERS[stack])) == stack


@pytest.mark.parametrize("target", TARGETS, ids=[t[0] for t in TARGETS])
def test_target_answers_reach_their_hardware_and_distribution(target: tuple) -> None:
    _, framework, extra, hardware, distribution = target
    rec = recommendation_for(answers_for(framework, extra, "none", False))
    assert (rec.choice("hardware"), rec.choice("distribution")) == (hardware, distribution)


@pytest.mark.parametrize("stack", sorted(STACK_ANSWERS))
def test_the_next_step_advisor_new_prints_names_targets_the_project_has(stack: str) -> None:
    import re

    from advisor.cli.project import next_step
    from advisor.project.generate import build_project

    step = next_step(stack)
    makefile = build_project(STACK_ANSWERS[stack], "answers.yml").files["Makefile"]
    targets = set(re.findall(r"^([a-z][a-z-]*):", makefile, re.M))
    named = re.findall(r"make ([a-z][a-z-]*)", step)
    assert named and set(named) <= targets, (stack, step, sorted(targets))


# The torch cases name no framework or task: the stack tests add them, so each is checked with
# every torch framework on the task the tests use most.
CASES = [
    (stack, name, answers, case.expected)
    for stack, cases in STACK_CASES.items()
    for name, case in cases.items()
    for answers in (
        [
            {"framework": framework, "task": "tabular_classification", **case.answers}
            for framework in ("pytorch", "pytorch_lightning")
        ]
        if stack == "torch"
        else [case.answers]
    )
]


@pytest.mark.parametrize(
    ("stack", "name", "answers", "expected"),
    CASES,
    ids=[f"{c[0]}-{c[1]}-{c[2].get('framework', 'any')}" for c in CASES],
)
def test_stack_cases_reach_what_they_expect(
    stack: str, name: str, answers: dict, expected: dict[str, str]
) -> None:
    rec = recommendation_for({"project_name": "demo", **answers})
    assert {decision: rec.choice(decision) for decision in expected} == expected, (stack, name)
