"""Vertex AI instances -> the pipeline's inputs -> predictions, with the trainer's own code.

The served model is model.joblib (the whole scikit-learn pipeline: imputation, scaling, one-hot
encoding and the estimator) and preprocessing.json from the trainer's model directory. Each
instance is what a client has: an object of raw feature values ({"column": value, ...}; a
missing value is null), or a list of them in the training table's column order.
`trainer.data.to_inputs` builds the pipeline's input form, as it does in training (no skew).
"""

from __future__ import annotations

import json
from typing import Any

import joblib
import numpy as np
import pandas as pd

from serving.artifacts import fetch_model
from trainer import data

ARTIFACTS = ("model.joblib", "preprocessing.json")


class InstanceError(ValueError):
    """An instance the model cannot take; the server answers 400 with this message."""


def plain(value: Any) -> Any:
    """A JSON value (numpy scalars become Python numbers)."""
    return value.item() if isinstance(value, np.generic) else value


class Predictor:
    """Loads the model once; `predict` maps a list of instances to a list of predictions."""

    def __init__(self, model_dir: str) -> None:
        folder = fetch_model(model_dir, ARTIFACTS)
        self.meta: dict[str, Any] = json.loads((folder / "preprocessing.json").read_text())
        self.model = joblib.load(folder / "model.joblib")

    def preprocess(self, instances: list[Any]) -> np.ndarray:
        columns: list[str] = self.meta["columns"]
        rows = []
        for row in instances:
            if isinstance(row, dict):
                missing = [c for c in columns if c not in row]
                if missing:
                    raise InstanceError(f"an instance lacks the features {', '.join(missing)}")
                rows.append([row[c] for c in columns])
            elif isinstance(row, list) and len(row) == len(columns):
                rows.append(row)
            else:
                raise InstanceError(
                    f"each instance is an object of the features {', '.join(columns)}"
                    f" or a list of {len(columns)} values in that order"
                )
        frame = pd.DataFrame(rows, columns=columns)
        for position in self.meta["numeric"]:
            column = columns[position]
            frame[column] = pd.to_numeric(frame[column], errors="coerce")
        return data.to_inputs(frame, self.meta["numeric"])

    def postprocess(self, x: np.ndarray) -> list[Any]:
        classes = [plain(c) for c in self.model.classes_]
        labels = self.model.predict(x)
        if not hasattr(self.model, "predict_proba"):
            return [{"label": plain(label), "classes": classes} for label in labels]
        probabilities = self.model.predict_proba(x).tolist()
        return [
            {"label": plain(label), "probabilities": p, "classes": classes}
            for label, p in zip(labels, probabilities, strict=True)
        ]

    def predict(self, instances: list[Any]) -> list[Any]:
        if not isinstance(instances, list) or not instances:
            raise InstanceError('the request is {"instances": [...]} with at least one instance')
        return self.postprocess(self.preprocess(instances))
