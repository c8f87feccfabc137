"""`make serve-local`: the serving container's server, on the trained model, answering a request.

Starts serving.server on a free local port, sends {"instances": [...]} built from validation rows
in the form a client has, prints the request and the response, and checks that the server's
predictions match the trainer's own (the model on `trainer.data.load_arrays`' validation inputs).

    python -m serving.local --model_dir outputs/model --data data/sample.csv --rows 4
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from typing import Any

import fsspec
import numpy as np
import torch

from serving.client import post, serve_and_ask, shown  # noqa: F401 (the tests use post)
from serving.predictor import fetch_model
from trainer import data


def options_of(model_dir: str) -> argparse.Namespace:
    """The data flags the model was trained with (preprocessing.json's model_args)."""
    meta = json.loads((fetch_model(model_dir) / "preprocessing.json").read_text())
    return argparse.Namespace(**{**vars(data.default_options()), **meta.get("model_args", {})})


def validation_instances(path: str, options: argparse.Namespace, rows: int) -> list[Any]:
    """The first validation rows as a client sends them (raw values, not model inputs)."""
    # the trainer's own split (label, ID and split columns left out)
    features = data.prepare(path, options).val_features
    assert features is not None
    picked = features.iloc[:rows]
    instances = []
    for uri in picked[data.IMAGE_COLUMN]:
        with fsspec.open(uri, "rb") as handle:
            instances.append({"b64": base64.b64encode(handle.read()).decode()})
    return instances


def trainer_outputs(model_dir: str, path: str, options: argparse.Namespace, rows: int) -> Any:
    """What the trainer's model gives the same rows, through the trainer's input pipeline."""
    model = torch.jit.load(str(fetch_model(model_dir) / "model.pt"), map_location="cpu").eval()
    _, _, x_val, _ = data.load_arrays(path, options)
    with torch.no_grad():
        output = model(torch.from_numpy(x_val[:rows])).float()
    return torch.softmax(output, dim=1).numpy()


def served_outputs(predictions: list[dict[str, Any]]) -> np.ndarray:
    return np.asarray([p["probabilities"] for p in predictions], dtype=np.float32)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model_dir", default="outputs/model")
    parser.add_argument("--data", default=data.DEFAULT_DATA)
    parser.add_argument("--rows", type=int, default=4)
    args = parser.parse_args(argv)
    options = options_of(args.model_dir)
    instances = validation_instances(args.data, options, args.rows)
    response = serve_and_ask(args.model_dir, instances)
    print(json.dumps({"request": {"instances": shown(instances)}, "response": response}, indent=2))
    expected = trainer_outputs(args.model_dir, args.data, options, args.rows)
    served = served_outputs(response["predictions"])
    if served.shape != expected.shape or not np.allclose(served, expected, atol=1e-5):
        print("serve-local: the server's predictions differ from the trainer's", file=sys.stderr)
        return 1
    print(f"serve-local: {len(instances)} predictions match the trainer's", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
