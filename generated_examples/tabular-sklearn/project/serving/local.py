"""`make serve-local`: the serving container's server, on the trained model, answering a request.

Starts serving.server on a free local port, sends {"instances": [...]} built from validation rows
as a client has them (raw feature values by column name), prints the request and the response,
and checks that the server's predictions match the trainer's own (the pipeline on
`trainer.data.load_split`'s validation inputs).

    python -m serving.local --model_dir outputs/model --data data/sample.csv --rows 4
"""

from __future__ import annotations

import json
import sys
from typing import Any

import joblib
import numpy as np

from serving import client
from serving.artifacts import fetch_model
from serving.client import post, serve_and_ask  # noqa: F401 (the tests use them from here)
from serving.predictor import ARTIFACTS
from serving.rows import options_from, validation_rows
from trainer import data, table


def options_of(model_dir: str) -> table.Options:
    """The data flags the model was trained with (preprocessing.json)."""
    meta = json.loads((fetch_model(model_dir, ARTIFACTS) / "preprocessing.json").read_text())
    return options_from(meta)


def validation_instances(path: str, options: table.Options, rows: int) -> list[Any]:
    """The first validation rows as a client sends them (raw values, not model inputs)."""
    return validation_rows(path, options, not data.REGRESSION, rows)


def trainer_outputs(model_dir: str, path: str, options: table.Options, rows: int) -> np.ndarray:
    """What the trainer's pipeline gives the same rows, through the trainer's input pipeline."""
    model = joblib.load(fetch_model(model_dir, ARTIFACTS) / "model.joblib")
    _, _, x_val, _, _, _ = data.load_split(path, options)
    return np.asarray(model.predict_proba(x_val[:rows]), dtype=np.float64)


def served_outputs(predictions: list[dict[str, Any]]) -> np.ndarray:
    return np.asarray([p["probabilities"] for p in predictions], dtype=np.float64)


def main(argv: list[str] | None = None) -> int:
    return client.check_main(sys.modules[__name__], str(data.SAMPLE), argv)


if __name__ == "__main__":
    sys.exit(main())
