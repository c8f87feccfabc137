"""The tabular regression (an MLP over numeric and one-hot features) model, in Keras 3.

`build_model(meta, hp)` is called twice: inside the distribution strategy's scope for training,
and once more outside it for the saved model, which gets the trained weights. The saved copy
computes in float32 whatever precision trained it, so it serves anywhere (CPU, GPU, TFLite),
and turns its normalized output back into the target's units.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras

CLASSIFICATION = False


def build_model(
    meta: Mapping[str, Any], hp: Mapping[str, Any], serving: bool = False
) -> keras.Model:
    """The network for the data described by `meta` (see trainer.data) and the flags `hp`."""
    inputs = keras.Input(shape=(len(meta["columns"]),), name="features")
    x = keras.layers.Normalization(mean=meta["mean"], variance=meta["variance"], name="normalize")(
        inputs
    )
    for i in range(hp["num_layers"]):
        x = keras.layers.Dense(max(hp["hidden_units"] // 2**i, 4), activation="relu")(x)
        x = keras.layers.Dropout(hp["dropout"])(x)
    outputs = keras.layers.Dense(1, dtype="float32", name="prediction")(x)
    if serving:
        # Training fits the normalized target; the saved model predicts in the target's units.
        outputs = keras.layers.Rescaling(
            meta["target_std"], offset=meta["target_mean"], dtype="float32", name="to_units"
        )(outputs)
    return keras.Model(inputs, outputs, name="tabular_regression")


def make_optimizer(learning_rate: float, precision: str) -> keras.optimizers.Optimizer:
    """Adam; under mixed_float16 wrapped in dynamic loss scaling (bfloat16 needs none)."""
    optimizer: keras.optimizers.Optimizer = keras.optimizers.Adam(learning_rate=learning_rate)
    if precision == "mixed_float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def make_loss() -> keras.losses.Loss:
    """The per-example loss: the training loop averages it over the global batch."""
    return keras.losses.MeanSquaredError(reduction=None)
