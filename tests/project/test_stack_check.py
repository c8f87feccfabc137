"""`rules check` proves the stack mapping: one stack per reachable recommendation, real layers,
derived facts that read known names, and examples that select their stack."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from advisor.engine import default_ruleset
from advisor.paths import templates_dir
from advisor.project.stack_check import check_stack_mapping, reachable_points
from advisor.project.stacks import load_stacks

RULESET = default_ruleset()


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    root = tmp_path / "templates"
    shutil.copytree(templates_dir(), root, ignore=shutil.ignore_patterns("__pycache__"))
    # examples are named relative to the repository root (the templates' parent)
    shutil.copytree(templates_dir().parent / "examples", tmp_path / "examples")
    return root


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))


def test_the_shipped_templates_pass() -> None:
    report = check_stack_mapping(RULESET)
    assert report.problems == []
    stacks = {stack.name for stack in load_stacks()}
    assert set(report.wins) == stacks and all(report.wins.values())
    assert report.points == sum(report.wins.values())


def test_reachable_points_are_what_the_engine_can_choose() -> None:
    points = reachable_points({"service", "framework", "distribution"}, RULESET)
    frameworks = {p["framework"] for p in points if p["service"] == "custom_training"}
    assert {"pytorch", "pytorch_lightning", "tensorflow", "scikit_learn", "xgboost"} <= frameworks
    # a managed service never gets a training framework
    assert {p["framework"] for p in points if p["service"] != "custom_training"} == {
        "not_applicable"
    }


def test_a_gap_is_reported(templates: Path) -> None:
    _edit(templates / "stacks/xgboost/stack.yaml", "eq: xgboost", "eq: lightgbm")
    report = check_stack_mapping(RULESET, templates)
    assert any(p.startswith("gap: no stack fits") and "xgboost" in p for p in report.problems)
    assert "unreachable: stack xgboost never selected" in report.problems


def test_an_overlap_is_reported(templates: Path) -> None:
    _edit(templates / "stacks/pytorch/stack.yaml", ", {fact: distribution, ne: pytorch_xla}", "")
    report = check_stack_mapping(RULESET, templates)
    assert any(
        p.startswith("overlap: pytorch and pytorch_xla") or "pytorch_xla and pytorch " in p
        for p in report.problems
    ), report.problems


def test_a_missing_layer_is_reported(templates: Path) -> None:
    _edit(templates / "stacks/pytorch/stack.yaml", "torch_optimize]", "torch_optimise]")
    report = check_stack_mapping(RULESET, templates)
    assert len(report.problems) == 1
    assert "layers/torch_optimise: no such layer" in report.problems[0]


def test_a_fact_reading_an_unknown_name_is_reported(templates: Path) -> None:
    _edit(templates / "context.yaml", "=hp_search in", "=hp_serach in")
    report = check_stack_mapping(RULESET, templates)
    assert any("fact 'tuning' reads 'hp_serach'" in p for p in report.problems), report.problems


def test_only_if_must_name_a_derived_fact(templates: Path) -> None:
    _edit(
        templates / "layers/custom_training/layer.yaml",
        "best_trial.py.j2: tuning",
        "best_trial.py.j2: tunning",
    )
    report = check_stack_mapping(RULESET, templates)
    assert any("only_if 'best_trial.py.j2' names 'tunning'" in p for p in report.problems)


def test_an_example_must_select_its_stack(templates: Path) -> None:
    _edit(
        templates / "stacks/xgboost/stack.yaml",
        "layers:",
        "example: examples/tabular-sklearn.yml\nlayers:",
    )
    report = check_stack_mapping(RULESET, templates)
    assert report.problems == [
        "stack xgboost: its example examples/tabular-sklearn.yml selects another"
    ]


def test_every_stack_serves_the_framework_version_it_trains_with() -> None:
    """Issue 13 item 6: the serving image matches the training pin for every framework."""
    stacks = {s.name: s for s in load_stacks()}
    for name in ("scikit_learn", "xgboost", "tensorflow", "pytorch", "pytorch_lightning"):
        images = stacks[name].images
        assert images["serving_container"] == "Dockerfile.serve" and "serving" not in images


def test_a_prebuilt_serving_image_of_another_version_is_reported(templates: Path) -> None:
    # the old TensorFlow registration: trained with the 2.21 pin (or tf-cpu.2-17), served by 2.15
    _edit(
        templates / "stacks/tensorflow/stack.yaml",
        "  serving_container: Dockerfile.serve\n",
        "  serving: tf2-cpu.2-15\n",
    )
    problems = check_stack_mapping(RULESET, templates).problems
    assert any(
        "serving tf2-cpu.2-15 runs tensorflow-cpu 2.15, but the training pin is "
        "tensorflow-cpu==2.21.0" in p
        for p in problems
    ), problems
    assert any("training.cpu tf-cpu.2-17.py310 trains tensorflow-cpu 2.17" in p for p in problems)


def test_a_serving_container_must_install_the_pins(templates: Path) -> None:
    _edit(
        templates / "layers/serving/Dockerfile.serve.j2",
        "COPY requirements.txt .",
        "COPY serving-requirements.txt .",
    )
    problems = check_stack_mapping(RULESET, templates).problems
    assert "stack xgboost: images: Dockerfile.serve does not install requirements.txt's pins" in (
        problems
    )


def test_a_stack_must_name_its_framework_package(templates: Path) -> None:
    _edit(templates / "stacks/scikit_learn/stack.yaml", "  framework_package: scikit-learn\n", "")
    problems = check_stack_mapping(RULESET, templates).problems
    assert "stack scikit_learn: images: framework_package is missing" in " ".join(problems)
