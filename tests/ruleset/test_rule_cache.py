"""The cached rule set: used when nothing changed, never when a rule file or advisor changed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, run_advisor

ANSWERS = str(REPO / "examples" / "tabular-sklearn.yml")
PROBE = """
import io, contextlib, sys
from advisor.cli import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    code = main(["recommend", "--answers", {answers!r}, "--json"])
print(code, "pydantic" in sys.modules)
"""


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A private cache folder and a copy of the rules that a test may edit."""
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    return {"XDG_CACHE_HOME": str(tmp_path / "cache"), "ADVISOR_RULES_DIR": str(rules)}


def _probe(env: dict[str, str]) -> tuple[int, bool]:
    code = PROBE.format(answers=ANSWERS)
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, **env},
    )
    assert result.returncode == 0, result.stderr
    status, imported = result.stdout.split()
    return int(status), imported == "True"


def _service_because(env: dict[str, str]) -> str:
    result = run_advisor("recommend", "--answers", ANSWERS, "--json", env=env)
    assert result.returncode == 0, result.stderr
    return str(json.loads(result.stdout)["decisions"]["service"]["because"])


def test_a_cold_start_validates_with_pydantic_and_a_warm_one_does_not(env: dict[str, str]) -> None:
    assert _probe(env) == (0, True)
    assert _probe(env) == (0, False)
    assert list(Path(env["XDG_CACHE_HOME"], "advisor").glob("ruleset-*.pickle"))


def test_an_edited_rule_is_read_again(env: dict[str, str]) -> None:
    before = _service_because(env)
    rule = Path(env["ADVISOR_RULES_DIR"], "service", "SVC-CUSTOM-DEFAULT.yaml")
    text = rule.read_text(encoding="utf-8")
    rule.write_text(text.replace("because: '", "because: 'EDITED. "), encoding="utf-8")
    after = _service_because(env)
    assert after.startswith("EDITED.") and not before.startswith("EDITED.")


def test_a_rule_broken_after_caching_is_reported(env: dict[str, str]) -> None:
    _service_because(env)
    rule = Path(env["ADVISOR_RULES_DIR"], "service", "SVC-CUSTOM-DEFAULT.yaml")
    rule.write_text(rule.read_text(encoding="utf-8") + "priority_typo: 3\n", encoding="utf-8")
    result = run_advisor("recommend", "--answers", ANSWERS, "--json", env=env)
    assert result.returncode == 2
    assert "SVC-CUSTOM-DEFAULT.yaml" in result.stderr and "priority_typo" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_corrupted_cache_is_a_miss_and_gets_rewritten(env: dict[str, str]) -> None:
    expected = _service_because(env)
    (entry,) = Path(env["XDG_CACHE_HOME"], "advisor").glob("ruleset-*.pickle")
    entry.write_bytes(b"not a pickle")
    assert _service_because(env) == expected
    assert entry.read_bytes() != b"not a pickle"


def test_no_cache_when_asked(env: dict[str, str]) -> None:
    env = {**env, "ADVISOR_NO_CACHE": "1"}
    assert _probe(env) == (0, True)
    assert _probe(env) == (0, True)
    assert not list(Path(env["XDG_CACHE_HOME"]).glob("**/ruleset-*.pickle"))
