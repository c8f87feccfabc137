"""generated_examples/ matches what the templates render now; drift names the refresh command."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from advisor.project import examples
from tests.conftest import REPO, run_advisor

GUIDE_SCENARIOS = {
    "sql-team-bigquery": "bigquery_ml",
    "automl-image-classification": "automl",
    "bert-text-tpu": "tensorflow",
    "pytorch-ddp-multi-gpu": "pytorch",
    "tabular-sklearn": "scikit_learn",
    "keras-bayesian-tuning": "tensorflow",
    "mobile-compressed-80": "tensorflow",
}


def test_examples_are_up_to_date() -> None:
    result = run_advisor("examples", "--check")
    assert result.returncode == 0, result.stderr


def test_each_guide_scenario_has_an_example_with_its_stack_and_answers() -> None:
    import yaml

    for name, stack in GUIDE_SCENARIOS.items():
        folder = REPO / "generated_examples" / name
        record = yaml.safe_load((folder / "project" / ".advisor-answers.yml").read_text())
        assert record["stack"] == stack, name
        assert (folder / "answers.yml").read_text() == (
            REPO / "examples" / f"{name}.yml"
        ).read_text()
        assert "do not edit" in (folder / "README.md").read_text()


def test_drift_is_found_and_the_refresh_command_printed(tmp_path: Path) -> None:
    copy = tmp_path / "generated_examples"
    shutil.copytree(REPO / "generated_examples", copy)
    edited = copy / "tabular-sklearn" / "project" / "trainer" / "task.py"
    edited.write_text(edited.read_text() + "# local edit\n")
    (copy / "sql-team-bigquery" / "project" / "README.md").unlink()
    drift = examples.check(REPO / "examples", copy)
    kinds = {(d.example, d.path, d.kind) for d in drift}
    assert ("tabular-sklearn", "project/trainer/task.py", "changed") in kinds
    assert ("sql-team-bigquery", "project/README.md", "missing") in kinds


def test_cli_prints_the_exact_refresh_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from advisor.cli import main

    shutil.copytree(REPO / "examples", tmp_path / "examples")
    (tmp_path / "generated_examples").mkdir()
    monkeypatch.setattr(examples, "repo_root", lambda: tmp_path)
    assert main(["examples", "--check"]) == 1
    err = capsys.readouterr().err
    assert "missing: generated_examples/tabular-sklearn/project/submit.py" in err
    assert err.strip().endswith("refresh them with: advisor examples --write")
