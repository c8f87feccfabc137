"""The image classification (a small CNN) model, in Keras 3.

`build_model(meta, hp)` is called twice: inside the distribution strategy's scope for training,
and once more outside it for the saved model, which gets the trained weights. The saved copy
computes in float32 whatever precision trained it, so it serves anywhere (CPU, GPU, TFLite).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras

CLASSIFICATION = True


def build_model(
    meta: Mapping[str, Any], hp: Mapping[str, Any], serving: bool = False
) -> keras.Model:
    """The network for the data described by `meta` (see trainer.data) and the flags `hp`."""
    size = meta["image_size"]
    inputs = keras.Input(shape=(size, size, 3), name="image")
    # No augmentation by default: a mirror image is another class for digits, letters and signs
    # (a random horizontal flip kept the digits data at 0.77); add what suits your images here.
    x = keras.layers.Rescaling(1.0 / 255)(inputs)
    for block in range(3):
        x = keras.layers.Conv2D(hp["filters"] * 2**block, 3, padding="same", activation="relu")(x)
        x = keras.layers.MaxPooling2D()(x)
    # Flatten keeps where each feature is (a stroke at the top or at the bottom of a digit);
    # global average pooling would blur that away and learns much more slowly.
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dropout(hp["dropout"])(x)
    # The head computes in float32 under mixed precision, for a numerically safe softmax.
    x = keras.layers.Dense(len(meta["classes"]), dtype="float32", name="logits")(x)
    outputs = keras.layers.Activation("softmax", dtype="float32", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="image")


def make_optimizer(learning_rate: float, precision: str) -> keras.optimizers.Optimizer:
    """Adam; under mixed_float16 wrapped in dynamic loss scaling (bfloat16 needs none)."""
    optimizer: keras.optimizers.Optimizer = keras.optimizers.Adam(learning_rate=learning_rate)
    if precision == "mixed_float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def make_loss() -> keras.losses.Loss:
    """The per-example loss: the training loop averages it over the global batch."""
    return keras.losses.SparseCategoricalCrossentropy(reduction=None)
