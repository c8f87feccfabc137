"""scripts/new_rule.py writes a rule that loads, whose cases hold, and never overwrites one."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from advisor.engine.check import case_problem
from advisor.ruleset.rules import load_rules
from tests.conftest import REPO

SCRIPT = REPO / "scripts" / "new_rule.py"


def _run(rules: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ADVISOR_RULES_DIR": str(rules), "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_scaffolded_rule_loads_and_its_cases_hold(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    done = _run(rules, "tips", "TIP-SCAFFOLD", "--when", "team=sql_analysts", "--choice", "x")
    assert done.returncode == 0, done.stderr
    path = rules / "tips" / "TIP-SCAFFOLD.yaml"
    data = yaml.safe_load(path.read_text())
    assert data["when"] == {"fact": "team", "eq": "sql_analysts"}
    assert data["source"].startswith("TODO")  # left for the author, visibly
    ruleset = load_rules(rules)
    rule = ruleset.by_id["TIP-SCAFFOLD"]
    assert {case.fires for case in rule.cases} == {True, False}
    for case in rule.cases:
        assert case_problem(rule, case.name, ruleset) is None

    again = _run(rules, "tips", "TIP-SCAFFOLD", "--when", "team=sql_analysts", "--choice", "x")
    assert again.returncode == 2 and "already exists" in again.stderr
    assert yaml.safe_load(path.read_text()) == data  # untouched


def test_bad_arguments_exit_2_naming_what_is_allowed(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    wrong_decision = _run(rules, "hardwear", "HW-X", "--when", "team=sql_analysts", "--choice", "x")
    assert wrong_decision.returncode == 2 and "one of service" in wrong_decision.stderr
    wrong_choice = _run(rules, "hardware", "HW-X", "--when", "team=sql_analysts", "--choice", "gpu")
    assert wrong_choice.returncode == 2 and "single_gpu" in wrong_choice.stderr
    wrong_fact = _run(rules, "hardware", "HW-X", "--when", "teem=x", "--choice", "cpu")
    assert wrong_fact.returncode == 2 and "project_name" in wrong_fact.stderr
    assert not (rules / "hardware" / "HW-X.yaml").exists()
    assert "Traceback" not in wrong_decision.stderr + wrong_choice.stderr + wrong_fact.stderr
