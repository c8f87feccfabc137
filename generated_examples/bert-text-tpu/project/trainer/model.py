"""The text classification (a transformer encoder of the answered size) model, in Keras 3.

`build_model(meta, hp)` is called twice: inside the distribution strategy's scope for training,
and once more outside it for the saved model, which gets the trained weights. The saved copy
computes in float32 whatever precision trained it, so it serves anywhere (CPU, GPU, TFLite).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import keras

CLASSIFICATION = True


def build_model(
    meta: Mapping[str, Any], hp: Mapping[str, Any], serving: bool = False
) -> keras.Model:
    """The network for the data described by `meta` (see trainer.data) and the flags `hp`."""
    length = meta["sequence_length"]
    inputs = keras.Input(shape=(length,), dtype="int32", name="tokens")
    size = transformer_size(meta, hp)
    width, heads = size["embedding_dim"], size["num_heads"]
    # +2: the padding id 0 and the out-of-vocabulary id 1 of TextVectorization.
    x = keras.layers.Embedding(len(meta["vocabulary"]) + 2, width, name="token_embedding")(inputs)
    positions = keras.ops.cumsum(keras.ops.ones_like(inputs), axis=1) - 1
    x = x + keras.layers.Embedding(length, width, name="position_embedding")(positions)
    real = keras.ops.not_equal(inputs, 0)  # padding is neither attended to nor pooled
    real = keras.ops.logical_or(real, keras.ops.arange(length) == 0)  # an empty text keeps one
    attend = keras.ops.repeat(keras.ops.expand_dims(real, 1), length, axis=1)
    for block in range(size["num_blocks"]):  # pre-norm encoder blocks, feed-forward 4 x width
        h = keras.layers.LayerNormalization(epsilon=1e-5, name=f"block{block}_norm1")(x)
        h = keras.layers.MultiHeadAttention(
            heads, width // heads, dropout=hp["dropout"], name=f"block{block}_attention"
        )(h, h, attention_mask=attend)
        x = x + keras.layers.Dropout(hp["dropout"])(h)
        h = keras.layers.LayerNormalization(epsilon=1e-5, name=f"block{block}_norm2")(x)
        h = keras.layers.Dense(4 * width, activation="gelu", name=f"block{block}_up")(h)
        h = keras.layers.Dense(width, name=f"block{block}_down")(h)
        x = x + keras.layers.Dropout(hp["dropout"])(h)
    x = keras.layers.LayerNormalization(epsilon=1e-5, name="final_norm")(x)
    x = keras.layers.GlobalAveragePooling1D()(x, mask=real)
    # The head computes in float32 under mixed precision, for a numerically safe softmax.
    x = keras.layers.Dense(len(meta["classes"]), dtype="float32", name="logits")(x)
    outputs = keras.layers.Activation("softmax", dtype="float32", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="text")


# Parameters of one pre-norm encoder block of width d (feed-forward 4d): 12d^2 + 13d.
# Depth grows with width as in published model families: about d / 128 blocks.
WIDTH_PER_BLOCK = 128


def transformer_shape(parameters: int, vocabulary: int, positions: int) -> tuple[int, int, int]:
    """(width, blocks, heads) of an encoder with about `parameters` weights in all."""
    blocks = max(1, round((parameters / (12 * WIDTH_PER_BLOCK**2)) ** (1 / 3)))
    # blocks x 12 d^2 + (vocabulary + positions + blocks x 13) d = parameters, solved for d
    a, b = 12 * blocks, vocabulary + positions + 13 * blocks
    width = (-b + math.sqrt(b * b + 4 * a * parameters)) / (2 * a)
    step = 64 if width >= 256 else 8  # whole heads of 64 at scale; small test models stay small
    width = max(8, int(round(width / step)) * step)
    return width, blocks, max(1, width // 64) if width >= 64 else max(1, width // 8)


def transformer_size(meta: Mapping[str, Any], hp: Mapping[str, Any]) -> dict[str, int]:
    """Width, blocks and heads: from --model_parameters when it is set (explicit --num_blocks and
    --num_heads win), else --embedding_dim wide with 2 blocks."""
    if hp["model_parameters"] > 0:
        vocabulary = len(meta["vocabulary"]) + 2
        width, blocks, heads = transformer_shape(
            hp["model_parameters"], vocabulary, meta["sequence_length"]
        )
    else:
        width, blocks = hp["embedding_dim"], 2
        heads = max(1, width // 64) if width >= 64 else max(1, width // 8)
    heads = hp["num_heads"] or heads
    if width % heads:
        heads = 1
    return {"embedding_dim": width, "num_blocks": hp["num_blocks"] or blocks, "num_heads": heads}


def make_optimizer(learning_rate: float, precision: str) -> keras.optimizers.Optimizer:
    """Adam; under mixed_float16 wrapped in dynamic loss scaling (bfloat16 needs none)."""
    optimizer: keras.optimizers.Optimizer = keras.optimizers.Adam(learning_rate=learning_rate)
    if precision == "mixed_float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def make_loss() -> keras.losses.Loss:
    """The per-example loss: the training loop averages it over the global batch."""
    return keras.losses.SparseCategoricalCrossentropy(reduction=None)
