"""Create the Gemini supervised tuning job on Vertex AI (Google Gen AI SDK).

    python tune.py --dry-run   # print the request as JSON: no credentials, no network
    python tune.py             # upload nothing, start the tuning job on the JSONL in Cloud Storage

Prompt the base model first (`classify.py`, `evaluate.py`): tune only when prompting falls short.
The tuning job reads `train.jsonl` and `validation.jsonl` (written by `prepare_data.py`) from the
bucket; the tuned model gets its own endpoint, which `classify.py --model` and `evaluate.py
--model` then call.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import genai_recording

PROJECT = "acme-support"
REGION = "us-central1"
DATA = "gs://acme-support-ml/reviews-gemini/data"
JOB_NAME = "reviews-gemini"
BASE_MODEL = "gemini-2.5-flash"
# The adapter sizes the API's AdapterSize enum names (google.genai.types.AdapterSize); each base
# model accepts some of them (the supervised tuning page lists them per model).
ADAPTER_SIZES = {
    1: "ADAPTER_SIZE_ONE",
    2: "ADAPTER_SIZE_TWO",
    4: "ADAPTER_SIZE_FOUR",
    8: "ADAPTER_SIZE_EIGHT",
    16: "ADAPTER_SIZE_SIXTEEN",
    32: "ADAPTER_SIZE_THIRTY_TWO",
}


class SettingsError(Exception):
    """A setting the SDK or the service would reject; reported with exit code 2."""


def check(options: argparse.Namespace) -> None:
    for name in ("train", "validation"):
        uri = getattr(options, name)
        if not (uri.startswith("gs://") and uri.endswith(".jsonl")):
            raise SettingsError(f"--{name} {uri}: a gs://.../*.jsonl file in Cloud Storage")
    if options.epochs is not None and options.epochs < 1:
        raise SettingsError("--epochs must be a positive whole number")
    if options.adapter_size is not None and options.adapter_size not in ADAPTER_SIZES:
        allowed = ", ".join(str(size) for size in ADAPTER_SIZES)
        raise SettingsError(f"--adapter-size {options.adapter_size}: one of {allowed}")
    if options.learning_rate_multiplier is not None and options.learning_rate_multiplier <= 0:
        raise SettingsError("--learning-rate-multiplier must be above 0")


def start(options: argparse.Namespace, credentials: Any = None) -> Any:
    """The supervised tuning job, created through the Gen AI SDK's Vertex AI client."""
    from google import genai
    from google.genai import types

    client = genai.Client(vertexai=True, project=PROJECT, location=REGION, credentials=credentials)
    config = types.CreateTuningJobConfig(
        tuned_model_display_name=JOB_NAME,
        validation_dataset=types.TuningValidationDataset(gcs_uri=options.validation),
        epoch_count=options.epochs,
        adapter_size=ADAPTER_SIZES.get(options.adapter_size),
        learning_rate_multiplier=options.learning_rate_multiplier,
        labels={"generated-by": "advisor"},
    )
    return client.tunings.tune(
        base_model=options.base_model,
        training_dataset=types.TuningDataset(gcs_uri=options.train),
        config=config,
    )


def dry_run(options: argparse.Namespace) -> dict[str, Any]:
    request = genai_recording.first_request(start, options, genai_recording.anonymous_credentials())
    return {"dry_run": True, "base_model": options.base_model, "requests": [request]}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="print the request, send nothing")
    parser.add_argument("--base-model", default=BASE_MODEL, help=f"default {BASE_MODEL}")
    parser.add_argument("--train", default=f"{DATA}/train.jsonl", help="gs:// JSONL")
    parser.add_argument("--validation", default=f"{DATA}/validation.jsonl", help="gs:// JSONL")
    parser.add_argument("--epochs", type=int, help="passes over the data (default: the service's)")
    parser.add_argument(
        "--adapter-size", type=int, help="LoRA adapter size (default: the service's)"
    )
    parser.add_argument("--learning-rate-multiplier", type=float, help="default: the service's")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    try:
        check(options)
        if options.dry_run:
            print(json.dumps(dry_run(options), indent=2))
            return 0
        job = start(options)
        print(f"tuning job: {job.name} ({job.state})")
        print("when it succeeds, its tuned_model.endpoint is the MODEL for evaluate.py")
    except SettingsError as exc:
        print(f"tune.py: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
