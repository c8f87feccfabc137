"""The CLI's own path imports nothing heavy (frameworks and the Vertex SDK cost seconds).

pydantic counts as heavy here: it validates rule files when they change (see
tests/ruleset/test_rule_cache.py), but importing it costs more than a whole warm `recommend`.
"""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO

HEAVY = (
    "tensorflow",
    "torch",
    "sklearn",
    "xgboost",
    "google.cloud.aiplatform",
    "pandas",
    "jinja2",
    "black",
    "pydantic",
    "kfp",
    "google_cloud_pipeline_components",
)

PROBE = """
import sys, io, contextlib
from advisor.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    code = main({args!r})
assert code == 0, code
print(",".join(sorted(m for m in sys.modules if m.split(".")[0] in {roots!r} or m in {full!r})))
"""


def _loaded(args: list[str]) -> set[str]:
    roots = {name.split(".")[0] for name in HEAVY if "." not in name}
    full = {name for name in HEAVY if "." in name}
    code = PROBE.format(args=args, roots=roots, full=full)
    for _ in range(2):  # the first run may fill the rules cache; the second is a normal start
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO
        )
        assert result.returncode == 0, result.stderr
    return {m for m in result.stdout.strip().split(",") if m}


def test_recommend_json_imports_nothing_heavy() -> None:
    assert _loaded(["recommend", "--json", "--set", "task=image_classification"]) == set()


def test_rules_check_imports_nothing_heavy() -> None:
    assert _loaded(["rules", "check", "--json"]) == set()
