"""`make serve-local`: the serving container's server, on the trained model, answering a request.

Starts serving.server on a free local port, sends {"instances": [...]} built from validation rows
in the form a client has, prints the request and the response, and checks that the server's
predictions match the trainer's own (the model on `trainer.data.load_arrays`' validation inputs).

    python -m serving.local --model_dir outputs/model --data data/sample.csv --rows 4
"""

from __future__ import annotations

import json
import sys
from typing import Any

import keras
import numpy as np

from serving import client
from serving.artifacts import fetch_model
from serving.client import post, serve_and_ask  # noqa: F401 (the tests use them from here)
from serving.predictor import ARTIFACTS
from serving.rows import options_from, validation_rows
from trainer import data


def options_of(model_dir: str) -> dict[str, Any]:
    """The data flags the model was trained with, for trainer.data (preprocessing.json)."""
    meta = json.loads((fetch_model(model_dir, ARTIFACTS) / "preprocessing.json").read_text())
    return {"label": meta["label"], "opts": options_from(meta)}


def validation_instances(path: str, options: dict[str, Any], rows: int) -> list[Any]:
    """The first validation rows as a client sends them (raw values, not model inputs)."""
    return validation_rows(path, options["opts"], data.CLASSIFICATION, rows)


def trainer_outputs(model_dir: str, path: str, options: dict[str, Any], rows: int) -> np.ndarray:
    """What the trainer's model gives the same rows, through the trainer's input pipeline."""
    folder = fetch_model(model_dir, ARTIFACTS)
    model = keras.models.load_model(folder / "model.keras", compile=False)
    _, _, x_val, _ = data.load_arrays(path, **options)
    return np.asarray(model(x_val[:rows], training=False), dtype=np.float32)


def served_outputs(predictions: list[dict[str, Any]]) -> np.ndarray:
    return np.asarray([[p["value"]] for p in predictions], dtype=np.float32)


def main(argv: list[str] | None = None) -> int:
    return client.check_main(sys.modules[__name__], data.DEFAULT_DATA, argv)


if __name__ == "__main__":
    sys.exit(main())
