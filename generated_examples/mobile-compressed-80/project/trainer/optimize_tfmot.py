"""Quantization-aware training and magnitude pruning with tensorflow-model-optimization.

tensorflow-model-optimization works on tf-keras (Keras 2) models only, so this module runs in
its own process with TF_USE_LEGACY_KERAS=1 (`trainer.optimize` starts it): it rebuilds the
Keras 3 model in tf-keras from the architecture and weights `optimize_keras.export_for_tf_keras`
wrote, fine-tunes it, and writes back a TFLite file (QAT) or the pruned weights (pruning).

    TF_USE_LEGACY_KERAS=1 python -m trainer.optimize_tfmot prune --work DIR --sparsity 0.5
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import sys
from pathlib import Path
from typing import Any

if os.environ.get("TF_USE_LEGACY_KERAS") != "1":
    sys.exit("trainer.optimize_tfmot needs TF_USE_LEGACY_KERAS=1 (trainer.optimize sets it)")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tensorflow_model_optimization as tfmot  # noqa: E402
import tf_keras  # noqa: E402

# Keys every tf-keras layer accepts besides its own constructor arguments.
BASE_KEYS = {"name", "trainable", "dtype"}


def _clean_config(cls: type, config: dict[str, Any]) -> dict[str, Any]:
    """Keep the keys tf-keras understands. Initializers, regularizers and constraints are dropped:
    the weights are loaded right after, and a short fine-tune does not need them."""
    accepted = set(inspect.signature(cls.__init__).parameters) | BASE_KEYS
    out: dict[str, Any] = {}
    for key, value in config.items():
        if key not in accepted or key.endswith(("_initializer", "_regularizer", "_constraint")):
            continue
        if key == "dtype" and isinstance(value, dict):
            value = value.get("config", {}).get("name", "float32")
        if isinstance(value, dict) and "class_name" in value:
            raise ValueError(f"{cls.__name__}.{key} is a {value['class_name']} object")
        out[key] = value
    return out


def rebuild(directory: Path) -> tuple[tf_keras.Model, set[str]]:
    """The tf-keras twin of the exported Keras 3 model, with its weights, and the names of the
    layers fed a masked tensor (after Embedding(mask_zero=True)): QAT wrappers take no mask."""
    spec = json.loads((directory / "architecture.json").read_text("utf-8"))
    tensors: dict[str, Any] = {}
    inputs = []
    skipped: set[str] = set()
    for entry in spec["layers"]:
        name, config = entry["config"]["name"], entry["config"]
        if entry["module"].startswith("keras.src.ops"):
            # An op Keras 3 records for a mask (Embedding(mask_zero=True) -> NotEqual); tf-keras
            # computes and propagates masks itself. Any other use of an op fails below.
            skipped.add(name)
            continue
        if skipped.intersection(entry["inbound"]):
            raise ValueError(f"layer {name} takes the output of a Keras op tf-keras cannot rebuild")
        if entry["class_name"] == "InputLayer":
            shape = config.get("batch_shape") or config.get("batch_input_shape")
            tensor = tf_keras.Input(shape=tuple(shape[1:]), dtype=config.get("dtype"), name=name)
            tensors[name] = tensor
            inputs.append(tensor)
            continue
        cls = getattr(tf_keras.layers, entry["class_name"], None)
        if cls is None:
            raise ValueError(f"tf-keras has no layer {entry['class_name']} (layer {name})")
        layer = cls(**_clean_config(cls, config))
        args = [tensors[n] for n in entry["inbound"]]
        tensors[name] = layer(args if len(args) > 1 else args[0])
    model = tf_keras.Model(inputs, [tensors[n] for n in spec["outputs"]])
    masked = {
        entry["config"]["name"]
        for entry in spec["layers"]
        if any(getattr(tensors.get(n), "_keras_mask", None) is not None for n in entry["inbound"])
    }
    stored = np.load(directory / "weights.npz")
    for layer in model.layers:
        keys = sorted(
            (k for k in stored.files if k.rsplit("/", 1)[0] == layer.name),
            key=lambda k: int(k.rsplit("/", 1)[1]),
        )
        if keys:
            layer.set_weights([stored[k] for k in keys])
    return model, masked


def _loss(kind: str, n_outputs: int, sparse_labels: bool) -> tf_keras.losses.Loss:
    if kind == "linear":
        return tf_keras.losses.MeanSquaredError()
    from_logits = kind == "logits"
    if n_outputs == 1:
        return tf_keras.losses.BinaryCrossentropy(from_logits=from_logits)
    if sparse_labels:
        return tf_keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits)
    return tf_keras.losses.CategoricalCrossentropy(from_logits=from_logits)


def _data(directory: Path) -> tuple[np.ndarray, ...]:
    with np.load(directory / "data.npz") as d:
        return d["x_train"], d["y_train"], d["x_val"], d["y_val"]


def _compile(model: tf_keras.Model, args: argparse.Namespace, y_train: np.ndarray) -> None:
    n_outputs = int(model.output_shape[-1])
    sparse = y_train.ndim == 1 or y_train.shape[-1] != n_outputs
    model.compile(
        optimizer=tf_keras.optimizers.Adam(args.learning_rate),
        loss=_loss(args.output_kind, n_outputs, sparse),
    )


def prune(args: argparse.Namespace) -> dict[str, Any]:
    """Magnitude pruning to `sparsity` (polynomial schedule over the first 2/3 of the fine-tune,
    then the mask holds while the rest recovers accuracy), wrappers stripped for export."""
    work = Path(args.work)
    x_train, y_train, x_val, y_val = _data(work)
    steps = int(np.ceil(len(x_train) / args.batch_size)) * args.epochs
    frequency = max(1, steps // 20)
    # Masks update every `frequency` steps up to end_step: a multiple of it, so the last update
    # lands on the final sparsity.
    end_step = max(frequency, (2 * steps) // 3 // frequency * frequency)
    schedule = tfmot.sparsity.keras.PolynomialDecay(
        initial_sparsity=0.0,
        final_sparsity=args.sparsity,
        begin_step=0,
        end_step=end_step,
        frequency=frequency,
    )

    def wrap(layer: tf_keras.layers.Layer) -> tf_keras.layers.Layer:
        try:
            return tfmot.sparsity.keras.prune_low_magnitude(layer, pruning_schedule=schedule)
        except ValueError:  # a layer type tensorflow-model-optimization cannot prune
            return layer

    model, _ = rebuild(work)
    pruned = tf_keras.models.clone_model(model, clone_function=wrap)
    _compile(pruned, args, y_train)
    pruned.fit(
        x_train,
        y_train,
        validation_data=(x_val, y_val),
        epochs=args.epochs,
        batch_size=args.batch_size,
        callbacks=[tfmot.sparsity.keras.UpdatePruningStep()],
        verbose=0,
    )
    # Wrapped layers without weights to prune (Dropout, Normalization) are not reported.
    pruned_layers = [
        layer.layer.name for layer in pruned.layers if getattr(layer, "prunable_weights", None)
    ]
    final = tfmot.sparsity.keras.strip_pruning(pruned)
    weights = {
        f"{layer.name}/{i}": w for layer in final.layers for i, w in enumerate(layer.get_weights())
    }
    np.savez(work / "pruned_weights.npz", **weights)
    return {"pruned_layers": pruned_layers, "steps": steps}


def qat(args: argparse.Namespace) -> dict[str, Any]:
    """Quantization-aware training of the layers the default 8-bit scheme supports, then the
    TFLite conversion that turns the fake-quant nodes into int8 kernels."""
    from tensorflow_model_optimization.python.core.quantization.keras.default_8bit import (
        default_8bit_quantize_registry,
    )

    work = Path(args.work)
    x_train, y_train, x_val, y_val = _data(work)
    registry = default_8bit_quantize_registry.Default8BitQuantizeRegistry()
    quantized: list[str] = []

    model, masked = rebuild(work)

    def annotate(layer: tf_keras.layers.Layer) -> tf_keras.layers.Layer:
        if registry.supports(layer) and layer.name not in masked:
            quantized.append(layer.name)
            return tfmot.quantization.keras.quantize_annotate_layer(layer)
        return layer

    annotated = tf_keras.models.clone_model(model, clone_function=annotate)
    with tfmot.quantization.keras.quantize_scope():
        q_model = tfmot.quantization.keras.quantize_apply(annotated)
    _compile(q_model, args, y_train)
    q_model.fit(
        x_train,
        y_train,
        validation_data=(x_val, y_val),
        epochs=args.epochs,
        batch_size=args.batch_size,
        verbose=0,
    )
    if any(isinstance(layer, tf_keras.layers.RNN) for layer in model.layers):
        # Fused LSTM/GRU kernels need a static batch size (as in optimize_tflite): batch 1.
        spec = tf.TensorSpec([1, *q_model.input_shape[1:]], q_model.inputs[0].dtype)
        serve = tf.function(lambda x: q_model(x, training=False)).get_concrete_function(spec)
        converter = tf.lite.TFLiteConverter.from_concrete_functions([serve], q_model)
    else:
        converter = tf.lite.TFLiteConverter.from_keras_model(q_model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    (work / "qat.tflite").write_bytes(converter.convert())
    return {"quantized_layers": quantized}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("technique", choices=["prune", "qat"])
    parser.add_argument("--work", required=True, help="folder with architecture, weights, data")
    parser.add_argument("--output_kind", default="softmax")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--learning_rate", type=float, default=1e-3)
    parser.add_argument("--sparsity", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    tf_keras.utils.set_random_seed(args.seed)
    result = prune(args) if args.technique == "prune" else qat(args)
    (Path(args.work) / f"{args.technique}.json").write_text(json.dumps(result), "utf-8")


if __name__ == "__main__":
    main()
