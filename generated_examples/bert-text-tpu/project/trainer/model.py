"""The text classification (TextVectorization and a small embedding model) model, in Keras 3.

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
    inputs = keras.Input(shape=(meta["sequence_length"],), dtype="int32", name="tokens")
    # +2: the padding id 0 and the out-of-vocabulary id 1 of TextVectorization.
    x = keras.layers.Embedding(len(meta["vocabulary"]) + 2, hp["embedding_dim"], mask_zero=True)(
        inputs
    )
    x = keras.layers.Dropout(hp["dropout"])(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    x = keras.layers.Dense(hp["embedding_dim"], activation="relu")(x)
    x = keras.layers.Dropout(hp["dropout"])(x)
    # The head computes in float32 under mixed precision, for a numerically safe softmax.
    x = keras.layers.Dense(len(meta["classes"]), dtype="float32", name="logits")(x)
    outputs = keras.layers.Activation("softmax", dtype="float32", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="text")


def make_optimizer(learning_rate: float, precision: str) -> keras.optimizers.Optimizer:
    """Adam; under mixed_float16 wrapped in dynamic loss scaling (bfloat16 needs none)."""
    optimizer: keras.optimizers.Optimizer = keras.optimizers.Adam(learning_rate=learning_rate)
    if precision == "mixed_float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def make_loss() -> keras.losses.Loss:
    """The per-example loss: the training loop averages it over the global batch."""
    return keras.losses.SparseCategoricalCrossentropy(reduction=None)
