"""Every SQL file parses as BigQuery SQL, and the runner's dry run builds one job per file."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import sql_parsing

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import run  # noqa: E402

SQL_FILES = sorted((ROOT / "sql").glob("*.sql"))


@pytest.mark.parametrize("path", SQL_FILES, ids=lambda p: p.name)
def test_sql_parses(path: Path) -> None:
    assert sql_parsing.parse(path.read_text(encoding="utf-8"))


def test_the_model_is_created_evaluated_and_used() -> None:
    text = "\n".join(p.read_text(encoding="utf-8") for p in SQL_FILES)
    assert "model_type = 'LOGISTIC_REG'" in text
    used = sql_parsing.ml_functions(sql_parsing.parse(text))
    assert "ML.EVALUATE" in used
    assert used & {"ML.PREDICT", "ML.FORECAST", "ML.RECOMMEND"}


def test_dry_run_builds_one_query_job_per_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert run.main(["--dry-run"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [job["file"] for job in report["jobs"]] == [f"sql/{p.name}" for p in SQL_FILES]
    for job, path in zip(report["jobs"], SQL_FILES, strict=True):
        assert job["method"] == "POST" and job["path"] == f"/projects/{run.PROJECT}/jobs"
        query = job["body"]["configuration"]["query"]
        assert query["useLegacySql"] is False
        assert query["query"] == path.read_text(encoding="utf-8")


def test_another_source_table_replaces_the_default(capsys: pytest.CaptureFixture[str]) -> None:
    assert run.main(["--dry-run", "--source-table", "other-project.sales.rows"]) == 0
    queries = [
        j["body"]["configuration"]["query"]["query"]
        for j in json.loads(capsys.readouterr().out)["jobs"]
    ]
    assert not any(run.quote(run.SOURCE_TABLE) in q for q in queries)
    assert any("`other-project.sales.rows`" in q for q in queries)
