"""Vertex AI instances -> model inputs -> predictions, with the trainer's own preprocessing.

The served model is model.pt (TorchScript) and preprocessing.json from the trainer's model
directory. Each instance is what a client has:
an encoded image file ({"b64": "<base64 of the JPEG or PNG bytes>"}, Vertex AI's binary form),
decoded and resized by `trainer.data.decode_image`, the function the trainer reads images with.
Calling the trainer's functions keeps serving and training on one code path (no skew).
"""

from __future__ import annotations

import base64
import io
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import fsspec
import numpy as np
import torch

from trainer import data

ARTIFACTS = ("model.pt", "preprocessing.json")


class InstanceError(ValueError):
    """An instance the model cannot take; the server answers 400 with this message."""


def fetch_model(uri: str) -> Path:
    """A local folder with the model's files: `uri` itself, or a copy of a gs:// folder
    (AIP_STORAGE_URI, where Vertex AI puts the registered model's artifacts)."""
    if "://" not in uri:
        return Path(uri)
    local = Path(tempfile.mkdtemp(prefix="model-"))
    for name in ARTIFACTS:
        with fsspec.open(f"{uri.rstrip('/')}/{name}", "rb") as src, open(local / name, "wb") as dst:
            shutil.copyfileobj(src, dst)
    return local


class Predictor:
    """Loads the model once; `predict` maps a list of instances to a list of predictions."""

    def __init__(self, model_dir: str) -> None:
        folder = fetch_model(model_dir)
        self.meta: dict[str, Any] = json.loads((folder / "preprocessing.json").read_text())
        self.model = torch.jit.load(str(folder / "model.pt"), map_location="cpu").eval()

    def preprocess(self, instances: list[Any]) -> torch.Tensor:
        images = []
        for row in instances:
            if not isinstance(row, dict) or not isinstance(row.get("b64"), str):
                raise InstanceError('each instance is {"b64": "<base64 of an image file>"}')
            try:
                raw = base64.b64decode(row["b64"], validate=True)
                images.append(data.decode_image(io.BytesIO(raw), self.meta["image_size"]))
            except Exception as exc:  # a bad image is the client's error, not the server's
                raise InstanceError(f"instance is not a readable image: {exc}") from None
        return torch.from_numpy(np.stack(images))

    def postprocess(self, output: torch.Tensor) -> list[Any]:
        probabilities = torch.softmax(output.float(), dim=1).tolist()
        classes = self.meta["classes"]
        return [
            {"label": classes[int(np.argmax(p))], "probabilities": p, "classes": classes}
            for p in probabilities
        ]

    def predict(self, instances: list[Any]) -> list[Any]:
        if not isinstance(instances, list) or not instances:
            raise InstanceError('the request is {"instances": [...]} with at least one instance')
        with torch.no_grad():
            return self.postprocess(self.model(self.preprocess(instances)))
