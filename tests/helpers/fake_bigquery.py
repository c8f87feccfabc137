"""A BigQuery Storage Read API client that serves a local table, for offline tests.

It answers `create_read_session` and `read_rows` as google-cloud-bigquery-storage's
BigQueryReadClient does, with that library's own message types: a ReadSession in Arrow format
whose `arrow_schema` is the table's serialized schema and whose streams each serve part of the
rows as ReadRowsResponse messages of serialized Arrow record batches. No network call is made.

Run a generated trainer against it (the project folder is the working directory):

    python .../tests/helpers/fake_bigquery.py TABLE.parquet bq://p.d.t [trainer flags...]

which replaces the trainer's `bigquery.make_client` and then runs `trainer.task` as
`python -m trainer.task` would; the sessions it opened are written to $FAKE_BQ_LOG (JSON lines).
"""

from __future__ import annotations

import json
import os
import runpy
import sys
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq


class FakeReadClient:
    """Serves `table` (a pyarrow Table) as the BigQuery table `table_path`."""

    def __init__(
        self, table: pa.Table, table_path: str, streams: int = 3, batch_rows: int = 100
    ) -> None:
        self.table, self.table_path = table, table_path
        self.streams, self.batch_rows = streams, batch_rows
        self.sessions: list[dict[str, Any]] = []
        self._served: dict[str, pa.Table] = {}

    def create_read_session(
        self, *, parent: str, read_session: Any, max_stream_count: int = 0
    ) -> Any:
        from google.api_core import exceptions
        from google.cloud.bigquery_storage_v1 import types

        if read_session.table != self.table_path:
            raise exceptions.NotFound(f"Not found: Table {read_session.table}")
        columns = list(read_session.read_options.selected_fields) or self.table.column_names
        served = self.table.select(columns)
        count = self.streams if max_stream_count == 0 else min(self.streams, max_stream_count)
        name = f"projects/fake/locations/us/sessions/s{len(self.sessions)}"
        session = types.ReadSession(
            name=name,
            table=read_session.table,
            data_format=types.DataFormat.ARROW,
            arrow_schema=types.ArrowSchema(
                serialized_schema=served.schema.serialize().to_pybytes()
            ),
            streams=[types.ReadStream(name=f"{name}/streams/{i}") for i in range(count)],
            estimated_total_bytes_scanned=served.nbytes,
            estimated_row_count=served.num_rows,
        )
        # Rows are dealt to the streams in turn, in chunks (a stream is no ordered slice).
        for i in range(count):
            chunks = [
                served.slice(start, self.batch_rows)
                for start in range(i * self.batch_rows, served.num_rows, count * self.batch_rows)
            ]
            self._served[f"{name}/streams/{i}"] = (
                pa.concat_tables(chunks) if chunks else served.slice(0, 0)
            )
        self.sessions.append(
            {
                "parent": parent,
                "table": read_session.table,
                "format": types.DataFormat(read_session.data_format).name,
                "columns": columns,
                "streams": count,
            }
        )
        return session

    def read_rows(self, name: str, offset: int = 0) -> Any:
        from google.cloud.bigquery_storage_v1 import types

        for batch in self._served[name].slice(offset).to_batches(max_chunksize=self.batch_rows):
            yield types.ReadRowsResponse(
                arrow_record_batch=types.ArrowRecordBatch(
                    serialized_record_batch=batch.serialize().to_pybytes(), row_count=batch.num_rows
                ),
                row_count=batch.num_rows,
            )


def install(table_file: str, uri: str) -> FakeReadClient:
    """Make the generated project's trainer/bigquery.py build this fake client."""
    from trainer import bigquery

    client = FakeReadClient(pq.read_table(table_file), bigquery.table_path(uri))
    log = os.environ.get("FAKE_BQ_LOG")
    if log:
        original = client.create_read_session

        def logged(**kwargs: Any) -> Any:
            session = original(**kwargs)
            with open(log, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(client.sessions[-1]) + "\n")
            return session

        client.create_read_session = logged  # type: ignore[method-assign]
    bigquery.make_client = lambda: client
    return client


def main() -> None:
    table_file, uri, *flags = sys.argv[1:]
    sys.path.insert(0, os.getcwd())
    install(table_file, uri)
    sys.argv = ["trainer.task", *flags]
    runpy.run_module("trainer.task", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
