"""Reading a BigQuery table (`bq://project.dataset.table`) through the BigQuery Storage Read API.

The Storage Read API serves a table as Arrow record batches over one or more streams of a read
session (https://cloud.google.com/bigquery/docs/reference/storage): no export to Cloud Storage,
no query job, only the columns asked for. Vertex AI passes a managed BigQuery dataset to custom
training in this same form, as AIP_TRAINING_DATA_URI=bq://project.dataset.table
(https://cloud.google.com/vertex-ai/docs/training/using-managed-datasets).

The session is billed to GOOGLE_CLOUD_PROJECT (or CLOUD_ML_PROJECT_ID, which Vertex AI sets),
else to the table's own project. `make_client` is the one place a client is built, so that tests
replace it with a fake that serves real Arrow batches.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

PREFIX = "bq://"
# project ids may hold a domain ("example.com:project"); dataset and table ids are word characters
_URI = re.compile(r"^bq://(?P<project>[a-z0-9.:-]+)\.(?P<dataset>\w+)\.(?P<table>[\w$-]+)$", re.I)


class BigQueryError(Exception):
    """The table cannot be read: its message names the URI and what to do."""


def is_bigquery(uri: str) -> bool:
    return str(uri).startswith(PREFIX)


def parse(uri: str) -> tuple[str, str, str]:
    """(project, dataset, table) of bq://project.dataset.table."""
    match = _URI.match(str(uri))
    if not match:
        raise BigQueryError(
            f"{uri}: not a BigQuery table URI; write bq://PROJECT.DATASET.TABLE "
            "(as Vertex AI's AIP_TRAINING_DATA_URI does)"
        )
    return match["project"], match["dataset"], match["table"]


def table_path(uri: str) -> str:
    project, dataset, table = parse(uri)
    return f"projects/{project}/datasets/{dataset}/tables/{table}"


def billing_project(uri: str) -> str:
    return (
        os.environ.get("GOOGLE_CLOUD_PROJECT")
        or os.environ.get("CLOUD_ML_PROJECT_ID")
        or parse(uri)[0]
    )


def make_client() -> Any:
    """A BigQueryReadClient with Application Default Credentials (the job's service account)."""
    try:
        from google.cloud import bigquery_storage_v1
    except ImportError:
        raise BigQueryError(
            "bq:// data needs google-cloud-bigquery-storage (pip install -r requirements.txt)"
        ) from None
    import google.auth.exceptions

    try:
        return bigquery_storage_v1.BigQueryReadClient()
    except google.auth.exceptions.DefaultCredentialsError:
        raise BigQueryError(
            "bq:// data needs Google Cloud credentials: on Vertex AI the job's service account, "
            "locally `gcloud auth application-default login`"
        ) from None


def open_session(uri: str, columns: list[str] | None = None, streams: int = 0) -> tuple[Any, Any]:
    """(client, read session) of the table in Arrow format; `streams` 0 lets the server choose."""
    from google.api_core import exceptions
    from google.cloud.bigquery_storage_v1 import types

    path = table_path(uri)  # a malformed URI fails before any client is built
    client = make_client()
    request = types.ReadSession(table=path, data_format=types.DataFormat.ARROW)
    if columns:
        request.read_options.selected_fields.extend(columns)
    try:
        session = client.create_read_session(
            parent=f"projects/{billing_project(uri)}",
            read_session=request,
            max_stream_count=streams,
        )
    except exceptions.NotFound as exc:
        raise BigQueryError(f"{uri}: no such table ({exc.message})") from None
    except exceptions.GoogleAPICallError as exc:
        raise BigQueryError(f"{uri}: cannot read the table ({exc.message})") from None
    return client, session


def stream_batches(client: Any, session: Any, stream_name: str) -> Iterator[Any]:
    """The pyarrow RecordBatches of one stream of the session, in order."""
    import pyarrow as pa

    schema = pa.ipc.read_schema(pa.py_buffer(session.arrow_schema.serialized_schema))
    for response in client.read_rows(stream_name):
        payload = response.arrow_record_batch.serialized_record_batch
        if payload:
            yield pa.ipc.read_record_batch(pa.py_buffer(payload), schema)


def schema(session: Any) -> Any:
    import pyarrow as pa

    return pa.ipc.read_schema(pa.py_buffer(session.arrow_schema.serialized_schema))


def read_arrow(uri: str, columns: list[str] | None = None) -> Any:
    """The whole table as one pyarrow Table (the in-memory path)."""
    import pyarrow as pa

    client, session = open_session(uri, columns)
    batches = [b for s in session.streams for b in stream_batches(client, session, s.name)]
    return pa.Table.from_batches(batches, schema=schema(session))
