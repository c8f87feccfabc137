"""`advisor recommend`: the interface's JSON, the text, --set, and clean errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import REPO, run_advisor

EXAMPLE = REPO / "examples" / "tabular-sklearn.yml"


def test_json_has_every_decision_with_rule_reason_and_source() -> None:
    result = run_advisor("recommend", "--answers", str(EXAMPLE), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    expected = {
        "service",
        "framework",
        "hardware",
        "distribution",
        "hp_search",
        "compression",
        "automl",
        "bqml_model",
    }
    assert set(data["decisions"]) == expected
    for name, output in data["decisions"].items():
        assert {"choice", "rule", "because", "source"} <= set(output), name
    assert data["decisions"]["hp_search"] == {
        **data["decisions"]["hp_search"],
        "choice": "grid",
        "max_trial_count": 12,
        "parallel_trial_count": 4,
    }
    assert data["cost"]["choice"] == "on_demand"
    assert all({"id", "text", "rule"} <= set(tip) for tip in data["tips"])
    assert [step["decision"] for step in data["trace"]][:3] == ["service", "framework", "hardware"]
    winners = [
        c for step in data["trace"] for c in step["considered"] if c["rule"] == step["winner"]
    ]
    assert all(c["matched"] for c in winners)


def test_set_overrides_the_file() -> None:
    result = run_advisor(
        "recommend",
        "--answers",
        str(EXAMPLE),
        "--json",
        "--set",
        "team=sql_analysts",
        "--set",
        "data_location=bigquery",
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["decisions"]["service"]["choice"] == "bigquery_ml"
    assert data["decisions"]["framework"]["choice"] == "not_applicable"


def test_set_alone_without_a_file() -> None:
    result = run_advisor(
        "recommend", "--json", "--set", "task=object_detection", "--set", "labels=generic"
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["decisions"]["service"]["choice"] == "pretrained_api"


def test_text_output_names_choices_by_label_and_rules() -> None:
    result = run_advisor("recommend", "--answers", str(EXAMPLE), env={"COLUMNS": "160"})
    assert result.returncode == 0, result.stderr
    assert "Framework                     scikit-learn" in result.stdout
    assert "scikit_learn" not in result.stdout  # the id is for --json
    assert "FW-CLASSICAL-TABULAR" in result.stdout
    assert "HP-GRID" in result.stdout


def _bad(tmp_path: Path, text: str, *extra: str) -> tuple[int, str]:
    path = tmp_path / "answers.yml"
    path.write_text(text, encoding="utf-8")
    result = run_advisor("recommend", "--answers", str(path), *extra)
    assert "Traceback" not in result.stderr
    return result.returncode, result.stderr


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("task: [unclosed\n", ["not valid YAML"]),
        ("- a\n- b\n", ["must be a mapping"]),
        ("taks: image_classification\n", ["'taks'", "unknown question id", "did you mean 'task'"]),
        ("task: cooking\n", ["'task'", "'cooking'", "one of tabular_classification"]),
        ("max_machines: 0\n", ["'max_machines'", "an integer >= 1"]),
        ("max_machines: many\n", ["'max_machines'", "an integer"]),
        ("size_reduction_pct: 99\n", ["'size_reduction_pct'", "<= 95"]),
        ("custom_model: perhaps\n", ["'custom_model'", "true or false"]),
        ("project_name: My Project\n", ["'project_name'", "slug"]),
        ("bucket: my-bucket\n", ["'bucket'", "gs://"]),
        ('{"task": "ocr", "labeled_examples": -1}', ["'labeled_examples'", ">= 0"]),
    ],
)
def test_bad_answers_exit_2_naming_file_field_and_allowed(
    tmp_path: Path, text: str, fragments: list[str]
) -> None:
    code, message = _bad(tmp_path, text)
    assert code == 2
    assert str(tmp_path / "answers.yml") in message or "not valid" not in message
    assert str(tmp_path / "answers.yml") in message
    for fragment in fragments:
        assert fragment in message


def test_missing_file(tmp_path: Path) -> None:
    result = run_advisor("recommend", "--answers", str(tmp_path / "nope.yml"))
    assert result.returncode == 2
    assert "nope.yml: file not found" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_set_flag_names_the_flag() -> None:
    result = run_advisor("recommend", "--set", "max_trials=lots")
    assert result.returncode == 2
    assert "--set: field 'max_trials'" in result.stderr
    result = run_advisor("recommend", "--set", "novalue")
    assert result.returncode == 2
    assert "expected ID=VALUE" in result.stderr


def test_broken_rule_file_names_file_and_rule(tmp_path: Path) -> None:
    import shutil

    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    broken = rules / "hardware" / "HW-TPU-POD.yaml"
    broken.write_text(broken.read_text().replace("fact: model_parameters", "fact: model_params"))
    result = run_advisor("recommend", "--defaults", env={"ADVISOR_RULES_DIR": str(rules)})
    assert result.returncode == 2
    assert "HW-TPU-POD.yaml" in result.stderr and "rule HW-TPU-POD" in result.stderr
    assert "unknown fact 'model_params'" in result.stderr
    assert "Traceback" not in result.stderr


def test_rule_file_that_is_not_yaml(tmp_path: Path) -> None:
    import shutil

    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    (rules / "service" / "SVC-ONPREM.yaml").write_text("id: SVC-ONPREM\nwhen: [\n")
    result = run_advisor("rules", "check", env={"ADVISOR_RULES_DIR": str(rules)})
    assert result.returncode == 2
    assert "SVC-ONPREM.yaml" in result.stderr and "not valid YAML" in result.stderr
