"""Create the AutoML dataset and training job on Vertex AI (google-cloud-aiplatform 2.7).

    python submit.py --dry-run   # print the requests as JSON: no credentials, no network
    python submit.py             # create the dataset, train, register the model

The settings below come from the recommendation (README.md says why); the flags override the
data source and columns. A dry run builds every request with the real SDK (vertex_dry_run.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

# ---- from the recommendation ------------------------------------------------------------
PROJECT = "acme-vision"
REGION = "us-central1"
BUCKET = "gs://acme-vision-data"
JOB_NAME = "product-photos"
PRODUCT = "image"
PREDICTION_TYPE = "classification"
MODEL_TYPE = "CLOUD"
EXPORT_FORMAT = None
BUDGET_MILLI_NODE_HOURS = 8000
# An import file: one line per image, `gs://.../img.jpg,label` for classification or the
# bounding-box JSONL/CSV format for detection (see README.md).
SOURCE = "gs://acme-vision-data/product-photos/data/import.csv"
# -------------------------------------------------------------------------------------------

# The API's budget range for each product (milli node hours); the service rejects others.
BUDGET_LIMITS = {
    ("tabular", "classification"): (1_000, 72_000),
    ("tabular", "regression"): (1_000, 72_000),
    ("tabular", "forecasting"): (1_000, 72_000),
    ("image", "classification"): (8_000, 800_000),
    ("image", "classification", "mobile"): (1_000, 100_000),
    ("image", "object_detection"): (20_000, 900_000),
    ("image", "object_detection", "mobile"): (1_000, 100_000),
}
# Export formats of AutoML edge (MOBILE_*) models; cloud models cannot be exported.
EXPORT_FORMATS = ("tflite", "edgetpu-tflite", "tf-saved-model", "core-ml", "tf-js")
SPLIT = {
    "training_fraction_split": 0.8,
    "validation_fraction_split": 0.1,
    "test_fraction_split": 0.1,
}


class SubmitError(Exception):
    """A setting the API would reject; reported with exit code 2."""


def budget_limits() -> tuple[int, int]:
    mobile = (MODEL_TYPE or "").startswith("MOBILE_")
    key: tuple[str, ...] = (PRODUCT, PREDICTION_TYPE) + (("mobile",) if mobile else ())
    return BUDGET_LIMITS.get(key) or BUDGET_LIMITS[(PRODUCT, PREDICTION_TYPE)]


def check_settings(options: argparse.Namespace) -> None:
    low, high = budget_limits()
    if not low <= BUDGET_MILLI_NODE_HOURS <= high:
        raise SubmitError(f"budget {BUDGET_MILLI_NODE_HOURS} is outside the API's {low}..{high}")
    if EXPORT_FORMAT and EXPORT_FORMAT not in EXPORT_FORMATS:
        raise SubmitError(f"export format {EXPORT_FORMAT!r}: one of {', '.join(EXPORT_FORMATS)}")
    if EXPORT_FORMAT and not (MODEL_TYPE or "").startswith("MOBILE_"):
        raise SubmitError("only edge (MOBILE_*) AutoML models can be exported")


def init(credentials: Any = None) -> None:
    from google.cloud import aiplatform

    aiplatform.init(
        project=PROJECT, location=REGION, staging_bucket=BUCKET, credentials=credentials
    )


def create_dataset(options: argparse.Namespace) -> Any:
    from google.cloud import aiplatform

    name = f"{JOB_NAME}-data"
    schema = aiplatform.schema.dataset.ioformat.image
    import_schema = (
        schema.single_label_classification
        if PREDICTION_TYPE == "classification"
        else schema.bounding_box
    )
    return aiplatform.ImageDataset.create(
        display_name=name, gcs_source=options.source, import_schema_uri=import_schema
    )


def train(dataset: Any, options: argparse.Namespace, columns: list[str]) -> Any:
    """The training job; returns the model it registers."""
    from google.cloud import aiplatform

    job = aiplatform.AutoMLImageTrainingJob(
        display_name=JOB_NAME,
        prediction_type=PREDICTION_TYPE,
        multi_label=False,
        model_type=MODEL_TYPE,
    )
    return job.run(
        dataset=dataset,
        budget_milli_node_hours=BUDGET_MILLI_NODE_HOURS,
        model_display_name=JOB_NAME,
        disable_early_stopping=False,
        **SPLIT,
    )


def export(model: Any) -> Any:
    """The edge model as an artifact files under the bucket."""
    destination = f"{BUCKET}/{JOB_NAME}/export/"
    return model.export_model(export_format_id=EXPORT_FORMAT, artifact_destination=destination)


def placeholder_model() -> Any:
    """What `train` returns on a real run, for the dry run of the export request."""
    from google.cloud import aiplatform
    from google.cloud.aiplatform_v1.types import model as gca_model

    artifact = gca_model.Model.ExportFormat.ExportableContent.ARTIFACT
    formats = [
        gca_model.Model.ExportFormat(id=f, exportable_contents=[artifact]) for f in EXPORT_FORMATS
    ]
    return aiplatform.Model._construct_sdk_resource_from_gapic(
        gca_model.Model(
            name=f"projects/{PROJECT}/locations/{REGION}/models/dry-run",
            display_name=JOB_NAME,
            supported_export_formats=formats,
        )
    )


def dry_run_columns(options: argparse.Namespace) -> tuple[list[str], list[str]]:
    """The columns a dry run assumes when --columns is not given (no data is read)."""
    return [], []


def dry_run(options: argparse.Namespace) -> dict[str, Any]:
    import vertex_dry_run

    columns, notes = dry_run_columns(options)
    with vertex_dry_run.recording() as recorder:
        init(credentials=vertex_dry_run.anonymous_credentials())
        dataset = create_dataset(options)
        vertex_dry_run.until_sent(train, dataset, options, columns)
        if EXPORT_FORMAT:
            vertex_dry_run.until_sent(export, placeholder_model())
    return {
        "dry_run": True,
        "product": PRODUCT,
        "prediction_type": PREDICTION_TYPE,
        "model_type": MODEL_TYPE,
        "budget_milli_node_hours": BUDGET_MILLI_NODE_HOURS,
        "export_format": EXPORT_FORMAT,
        "notes": notes,
        "requests": recorder.requests,
    }


def submit(options: argparse.Namespace) -> None:
    init()
    dataset = create_dataset(options)
    columns: list[str] = []
    model = train(dataset, options, columns)
    print(f"model: {model.resource_name}")
    if EXPORT_FORMAT:
        print(json.dumps(export(model), indent=2))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="print the requests, send nothing")
    parser.add_argument("--source", default=SOURCE, help=f"the data (default {SOURCE})")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    try:
        check_settings(options)
        if options.dry_run:
            print(json.dumps(dry_run(options), indent=2, default=str))
        else:
            submit(options)
    except SubmitError as exc:
        print(f"submit.py: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
