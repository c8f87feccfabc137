"""whatif, schema, rules graph and the generated rules reference."""

from __future__ import annotations

import json
from pathlib import Path

from advisor.ruleset.rules import RuleSet
from tests.conftest import REPO, run_advisor

EXAMPLE = REPO / "examples" / "tabular-sklearn.yml"


def test_whatif_shows_the_values_that_flip_decisions() -> None:
    result = run_advisor("whatif", "--answers", str(EXAMPLE), "--vary", "data_size_gb", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["current"] == 2.0
    flips = {v["value"]: v["changes"] for v in data["variations"]}
    small = [value for value, changes in flips.items() if value < 0.1]
    assert small and all(flips[v]["service"]["to"] == "bigquery_ml" for v in small)
    assert flips[min(small)]["service"]["rule"] == "SVC-BQML-SMALL-TABULAR"
    assert all("service" not in changes for value, changes in flips.items() if value >= 0.1)


def test_whatif_over_a_choice_lists_every_value() -> None:
    result = run_advisor("whatif", "--answers", str(EXAMPLE), "--vary", "team", "--json")
    data = json.loads(result.stdout)
    assert [v["value"] for v in data["variations"]] == [
        "sql_analysts",
        "no_ml_expertise",
        "ml_engineers",
        "ml_researchers",
    ]
    assert data["variations"][1]["changes"]["service"]["to"] == "automl"


def test_whatif_rejects_unknown_and_text_ids() -> None:
    unknown = run_advisor("whatif", "--vary", "colour")
    assert unknown.returncode == 2 and "unknown question id" in unknown.stderr
    text = run_advisor("whatif", "--vary", "bucket")
    assert text.returncode == 2 and "no values to vary" in text.stderr


def test_schema_validates_the_examples_and_rejects_bad_values(ruleset: RuleSet) -> None:
    import jsonschema
    import yaml

    result = run_advisor("schema")
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    assert set(schema["properties"]) == set(ruleset.questions.by_id)
    assert schema["additionalProperties"] is False
    for path in sorted((REPO / "examples").glob("*.yml")):
        jsonschema.validate(yaml.safe_load(path.read_text()), schema)
    bad = {"task": "cooking", "max_machines": 0}
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(bad))
    assert {e.path[0] for e in errors} == {"task", "max_machines"}


def test_rules_graph_has_every_rule_and_decision_edges(ruleset: RuleSet, tmp_path: Path) -> None:
    result = run_advisor("rules", "graph")
    assert result.stdout.startswith("flowchart TD")
    for rule_id in ruleset.by_id:
        assert f"{rule_id}<br/>" in result.stdout
    assert "service --> framework" in result.stdout
    out = tmp_path / "rules.dot"
    assert run_advisor("rules", "graph", "--output", str(out)).returncode == 0
    assert out.read_text().startswith("digraph rules {")
    bad = run_advisor("rules", "graph", "--output", str(tmp_path / "rules.pdf"))
    assert bad.returncode == 2 and "use .mmd" in bad.stderr


def test_rules_reference_is_up_to_date() -> None:
    result = run_advisor("rules", "doc", "--check")
    assert result.returncode == 0, result.stderr


def test_rules_reference_drift_is_reported_with_the_command(tmp_path: Path) -> None:
    stale = tmp_path / "rules.md"
    stale.write_text("old\n")
    result = run_advisor("rules", "doc", "--check", "--path", str(stale))
    assert result.returncode == 1
    assert "advisor rules doc --write" in result.stderr


def test_readme_shows_the_decision_graph() -> None:
    overview = run_advisor("rules", "graph", "--overview").stdout
    assert overview.strip() in (REPO / "README.md").read_text(encoding="utf-8")
