"""Vertex AI instances -> model inputs -> predictions, with the trainer's own preprocessing.

The served model is model.keras (the float32 copy the trainer saves,
which predicts in the target's units) and preprocessing.json from
the trainer's model directory. Each instance is what a client has:
an object of raw feature values ({"column": value, ...}; a missing value is null); missing
values, one-hot categories and the column order go through `trainer.data.transform`, and the
model's own Normalization layer scales them.
Calling the trainer's functions keeps serving and training on one code path (no skew).
"""

from __future__ import annotations

import json
from typing import Any

import keras
import numpy as np
import pandas as pd

from serving.artifacts import fetch_model
from trainer import data

ARTIFACTS = ("model.keras", "preprocessing.json")


class InstanceError(ValueError):
    """An instance the model cannot take; the server answers 400 with this message."""


class Predictor:
    """Loads the model once; `predict` maps a list of instances to a list of predictions."""

    def __init__(self, model_dir: str) -> None:
        folder = fetch_model(model_dir, ARTIFACTS)
        self.meta: dict[str, Any] = json.loads((folder / "preprocessing.json").read_text())
        self.model = keras.models.load_model(folder / "model.keras", compile=False)

    def preprocess(self, instances: list[Any]) -> Any:
        features: list[str] = self.meta["features"]
        if not all(isinstance(row, dict) for row in instances):
            raise InstanceError(f"each instance is an object of the features {', '.join(features)}")
        missing = sorted({c for row in instances for c in features if c not in row})
        if missing:
            raise InstanceError(f"instances lack the features {', '.join(missing)}")
        frame = pd.DataFrame([{c: row[c] for c in features} for row in instances])
        return data.transform(frame, self.meta)

    def predict(self, instances: list[Any]) -> list[Any]:
        if not isinstance(instances, list) or not instances:
            raise InstanceError('the request is {"instances": [...]} with at least one instance')
        output = np.asarray(self.model(self.preprocess(instances), training=False), np.float32)
        return [{"value": float(row[0])} for row in output]
