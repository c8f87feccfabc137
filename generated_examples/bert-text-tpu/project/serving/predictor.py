"""Vertex AI instances -> model inputs -> predictions, with the trainer's own preprocessing.

The served model is model.keras (the float32 copy the trainer saves) and preprocessing.json from
the trainer's model directory. Each instance is what a client has:
a string, turned into token ids by the trainer's TextVectorization layer
(`trainer.data.make_vectorizer`) with the training vocabulary.
Calling the trainer's functions keeps serving and training on one code path (no skew).
"""

from __future__ import annotations

import json
from typing import Any

import keras
import numpy as np
import tensorflow as tf

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
        self.vectorizer = data.make_vectorizer(self.meta)

    def preprocess(self, instances: list[Any]) -> Any:
        if not all(isinstance(text, str) for text in instances):
            raise InstanceError("each instance is a string")
        return self.vectorizer(tf.constant(instances))

    def predict(self, instances: list[Any]) -> list[Any]:
        if not isinstance(instances, list) or not instances:
            raise InstanceError('the request is {"instances": [...]} with at least one instance')
        output = np.asarray(self.model(self.preprocess(instances), training=False), np.float32)
        classes = self.meta["classes"]
        return [
            {"label": classes[int(np.argmax(p))], "probabilities": p.tolist(), "classes": classes}
            for p in output
        ]
