"""Run the BigQuery ML statements in sql/ in order, with google-cloud-bigquery.

    python run.py --dry-run                  # print each query job request as JSON: no
                                             # credentials, no network
    python run.py                            # run every file and print the results
    python run.py sql/07_predict.sql         # run some of them
    python run.py --source-table P.D.TABLE   # train on another table

A dry run builds each job with the real client and anonymous credentials and records the
request it would POST instead of sending it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

ROOT = Path(__file__).resolve().parent
PROJECT = "acme-analytics"
LOCATION = "us-central1"
SOURCE_TABLE = "acme-analytics.churn_bqml.training_data"
MODEL = "acme-analytics.churn_bqml.model"
LABELS = {"tool": "advisor", "project": "churn-bqml"}


class RequestCaptured(Exception):
    """Stops the client once the request is recorded."""


def quote(identifier: str) -> str:
    """A BigQuery quoted identifier."""
    return "`" + identifier.replace("\\", "\\\\").replace("`", "\\`") + "`"


def statements(paths: list[Path], source_table: str) -> list[tuple[Path, str]]:
    """Each file's SQL, with the training table replaced when another one is given."""
    found = []
    for path in paths:
        text = path.read_text(encoding="utf-8")
        if source_table != SOURCE_TABLE:
            text = text.replace(quote(SOURCE_TABLE), quote(source_table))
        found.append((path, text))
    return found


@contextlib.contextmanager
def recording() -> Iterator[list[dict[str, Any]]]:
    """Record the REST calls the client would make; none leaves the machine."""
    from google.cloud.bigquery import _http

    requests: list[dict[str, Any]] = []

    def api_request(_connection: Any, method: str, path: str, **kwargs: Any) -> Any:
        requests.append({"method": method, "path": path, "body": kwargs.get("data")})
        raise RequestCaptured(path)

    with mock.patch.object(_http.Connection, "api_request", api_request):
        yield requests


def client(dry_run: bool) -> Any:
    import google.auth.credentials
    from google.cloud import bigquery

    credentials = google.auth.credentials.AnonymousCredentials() if dry_run else None
    return bigquery.Client(project=PROJECT, location=LOCATION, credentials=credentials)


def job_config() -> Any:
    from google.cloud import bigquery

    return bigquery.QueryJobConfig(labels=LABELS)


def shown(path: Path) -> str:
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)


def dry_run(work: list[tuple[Path, str]]) -> dict[str, Any]:
    bq_client = client(dry_run=True)
    jobs = []
    with recording() as requests:
        for path, sql in work:
            try:
                bq_client.query(sql, job_config=job_config())
            except RequestCaptured:
                pass
            else:
                raise RuntimeError(f"dry run: no request recorded for {path}")
            jobs.append({"file": shown(path), **requests[-1]})
    return {"dry_run": True, "project": PROJECT, "location": LOCATION, "jobs": jobs}


def run(work: list[tuple[Path, str]], max_rows: int) -> None:
    bq_client = client(dry_run=False)
    for path, sql in work:
        print(f"-- {shown(path)}", flush=True)
        rows = bq_client.query(sql, job_config=job_config()).result()
        for index, row in enumerate(rows):
            if index == max_rows:
                print(f"... (first {max_rows} rows shown)")
                break
            print(json.dumps(dict(row.items()), default=str))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, help="SQL files (default: sql/*.sql)")
    parser.add_argument("--dry-run", action="store_true", help="print the requests, send nothing")
    parser.add_argument("--source-table", default=SOURCE_TABLE, help="PROJECT.DATASET.TABLE")
    parser.add_argument("--max-rows", type=int, default=20, help="rows printed per result")
    options = parser.parse_args(argv)
    paths = options.files or sorted((ROOT / "sql").glob("*.sql"))
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        print(f"run.py: error: no such SQL file: {', '.join(missing)}", file=sys.stderr)
        return 2
    work = statements([p.resolve() for p in paths], options.source_table)
    if options.dry_run:
        print(json.dumps(dry_run(work), indent=2))
    else:
        run(work, options.max_rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
