"""Serve the registered model on Vertex AI: deploy it to an endpoint, or run a batch prediction.

    python predict.py deploy --model MODEL         # an endpoint with autoscaling
    python predict.py batch --model MODEL --source gs://.../instances.jsonl
    python predict.py batch --model MODEL --source bq://PROJECT.DATASET.TABLE
    python predict.py --dry-run                    # print both requests: no credentials, no network

MODEL is the Model Registry resource name or id that `make submit` registered (the newest model
named like the job when left out). The machine and replica counts come from the advisor's
catalogue (rules/catalogue/prediction.yaml); the flags override them.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

PROJECT = "acme-support"
REGION = "us-central1"
BUCKET = "gs://acme-support-ml"
JOB_NAME = "ticket-classifier"
# What `make deploy-or-predict` does: online serving deploys, anything else predicts in batch.
DEFAULT_TARGET = "deploy"
# Online prediction: this many nodes always run, autoscaling (CPU use) adds up to the maximum.
# https://cloud.google.com/vertex-ai/docs/predictions/configure-compute
ENDPOINT = {
    "machine_type": "n1-standard-2",
    "min_replica_count": 1,
    "max_replica_count": 3,
    "autoscaling_target_cpu_utilization": 60,
}
# Batch prediction: the job starts this many nodes and scales up to the maximum while it runs.
# https://cloud.google.com/vertex-ai/docs/predictions/get-batch-predictions
BATCH = {
    "machine_type": "n1-standard-4",
    "starting_replica_count": 1,
    "max_replica_count": 4,
}
# List prices per node-hour (USD, as of 2026-12-03): https://cloud.google.com/vertex-ai/pricing#prediction-prices
HOURLY_USD = {
    "n1-standard-2": 0.1095,
    "n1-standard-4": 0.219,
}
DEFAULT_SOURCE = f"{BUCKET}/{JOB_NAME}/batch/instances.jsonl"


class PredictError(Exception):
    """A setting that cannot work; reported with exit code 2."""


def model_name(model: str | None) -> str:
    """A full Model resource name from a name or an id; the dry run's stand-in when absent."""
    if not model:
        return f"projects/{PROJECT}/locations/{REGION}/models/{JOB_NAME}"
    if model.startswith("projects/"):
        return model
    if "/" in model:
        raise PredictError(f"--model {model}: a model id or projects/.../models/ID")
    return f"projects/{PROJECT}/locations/{REGION}/models/{model}"


def find_model(model: str | None) -> Any:
    """The registered model (a lookup on Vertex AI; the newest one named JOB_NAME by default)."""
    from google.cloud import aiplatform

    if model:
        return aiplatform.Model(model_name(model))
    found = aiplatform.Model.list(filter=f'display_name="{JOB_NAME}"', order_by="update_time desc")
    if not found:
        raise PredictError(f"no model named {JOB_NAME} in the registry: run make submit first")
    return found[0]


def batch_io(source: str, destination: str | None) -> dict[str, Any]:
    """The batch job's input and output: Cloud Storage (JSON lines or CSV) or BigQuery."""
    if source.startswith("bq://"):
        if destination and not destination.startswith("bq://"):
            raise PredictError(f"--destination {destination}: a BigQuery source writes to bq://")
        return {
            "bigquery_source": source,
            "bigquery_destination_prefix": destination or f"bq://{PROJECT}",
            "instances_format": "bigquery",
            "predictions_format": "bigquery",
        }
    if source.startswith("gs://"):
        if destination and not destination.startswith("gs://"):
            raise PredictError(f"--destination {destination}: a gs:// source writes to gs://")
        return {
            "gcs_source": source,
            "gcs_destination_prefix": destination or f"{BUCKET}/{JOB_NAME}/batch/predictions",
            "instances_format": "csv" if source.endswith(".csv") else "jsonl",
            "predictions_format": "jsonl",
        }
    raise PredictError(f"--source {source}: a gs:// file or glob, or a bq://PROJECT.DATASET.TABLE")


def deploy(model: Any, options: argparse.Namespace) -> Any:
    """Create an endpoint and deploy the model on it with autoscaling."""
    from google.cloud import aiplatform

    endpoint = aiplatform.Endpoint.create(display_name=f"{JOB_NAME}-endpoint")
    return endpoint.deploy(
        model=model,
        deployed_model_display_name=JOB_NAME,
        machine_type=options.machine_type or ENDPOINT["machine_type"],
        min_replica_count=ENDPOINT["min_replica_count"],
        max_replica_count=options.max_replicas or ENDPOINT["max_replica_count"],
        autoscaling_target_cpu_utilization=ENDPOINT["autoscaling_target_cpu_utilization"],
        traffic_percentage=100,
        service_account=options.service_account or None,
        sync=True,
    )


def batch(model: Any, options: argparse.Namespace) -> Any:
    """A batch prediction job over the source, written under the destination."""
    return model.batch_predict(
        job_display_name=f"{JOB_NAME}-batch",
        **batch_io(options.source, options.destination),
        machine_type=options.machine_type or BATCH["machine_type"],
        starting_replica_count=BATCH["starting_replica_count"],
        max_replica_count=options.max_replicas or BATCH["max_replica_count"],
        service_account=options.service_account or None,
        sync=True,
    )


TARGETS = {"deploy": deploy, "batch": batch}


def init(credentials: Any = None) -> None:
    from google.cloud import aiplatform

    aiplatform.init(
        project=PROJECT, location=REGION, staging_bucket=BUCKET, credentials=credentials
    )


def dry_run_requests(options: argparse.Namespace | None = None) -> dict[str, Any]:
    """The deploy and batch prediction requests as the SDK builds them, sent nowhere."""
    options = options or parse_args([])
    batch_io(options.source, options.destination)  # bad input fails before the SDK loads
    import vertex_dry_run

    report: dict[str, Any] = {}
    targets = list(TARGETS) if options.target is None else [options.target]
    for target in targets:
        with vertex_dry_run.recording() as recorder:
            init(credentials=vertex_dry_run.anonymous_credentials())
            from google.cloud import aiplatform

            model = aiplatform.Model(model_name(options.model))
            vertex_dry_run.until_sent(TARGETS[target], model, options)
        report[target] = recorder.requests
    return report


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", nargs="?", choices=list(TARGETS), help="deploy or batch")
    parser.add_argument("--dry-run", action="store_true", help="print the requests, send nothing")
    parser.add_argument("--model", help="Model Registry resource name or id")
    parser.add_argument(
        "--source",
        default=DEFAULT_SOURCE,
        help="batch input: gs://... or bq://PROJECT.DATASET.TABLE",
    )
    parser.add_argument(
        "--destination", help="batch output prefix: gs://... or bq://PROJECT[.DATASET]"
    )
    parser.add_argument("--machine-type", help="prediction node machine type")
    parser.add_argument("--max-replicas", type=int, help="the most nodes autoscaling starts")
    parser.add_argument("--service-account", default="")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    try:
        if options.max_replicas is not None and options.max_replicas < 1:
            raise PredictError(f"--max-replicas {options.max_replicas}: at least 1")
        if options.dry_run:
            print(json.dumps({"dry_run": True, **dry_run_requests(options)}, indent=2, default=str))
            return 0
        target = options.target or DEFAULT_TARGET
        batch_io(options.source, options.destination)
        init()
        TARGETS[target](find_model(options.model), options)
    except PredictError as exc:
        print(f"predict.py: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
