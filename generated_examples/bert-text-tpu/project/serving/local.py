"""`make serve-local`: the serving container's server, on the trained model, answering a request.

Starts serving.server on a free local port, sends {"instances": [...]} built from validation rows
in the form a client has, prints the request and the response, and checks that the server's
predictions match the trainer's own (the model on `trainer.data.load_arrays`' validation inputs).

    python -m serving.local --model_dir outputs/model --data data/reviews.csv --rows 4
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
from trainer import data, inputs, table


def options_of(model_dir: str) -> dict[str, Any]:
    """The data flags the model was trained with, for trainer.data (preprocessing.json)."""
    meta = json.loads((fetch_model(model_dir, ARTIFACTS) / "preprocessing.json").read_text())
    # +2: the padding and out-of-vocabulary ids; the training vocabulary is rebuilt exactly
    return {
        "label": meta["label"],
        "vocab_size": len(meta["vocabulary"]) + 2,
        "sequence_length": meta["sequence_length"],
    }


def validation_instances(path: str, options: dict[str, Any], rows: int) -> list[Any]:
    """The first validation rows as a client sends them (raw values, not model inputs)."""
    # the trainer's own reading and split of the examples (trainer/inputs.py, trainer/table.py)
    opts = table.Options(label_column=options["label"])
    frame = inputs.read_texts(path, opts)
    _, val_rows = table.split_rows(frame, path, opts)
    return frame[data.TEXT].fillna("").astype(str).to_numpy()[val_rows[:rows]].tolist()


def trainer_outputs(model_dir: str, path: str, options: dict[str, Any], rows: int) -> np.ndarray:
    """What the trainer's model gives the same rows, through the trainer's input pipeline."""
    folder = fetch_model(model_dir, ARTIFACTS)
    model = keras.models.load_model(folder / "model.keras", compile=False)
    _, _, x_val, _ = data.load_arrays(path, **options)
    return np.asarray(model(x_val[:rows], training=False), dtype=np.float32)


def served_outputs(predictions: list[dict[str, Any]]) -> np.ndarray:
    return np.asarray([p["probabilities"] for p in predictions], dtype=np.float32)


def main(argv: list[str] | None = None) -> int:
    return client.check_main(sys.modules[__name__], data.DEFAULT_DATA, argv)


if __name__ == "__main__":
    sys.exit(main())
