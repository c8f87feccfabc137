"""Keras 3 side of the optimize step: the head's output kind, a smaller student, distillation,
and moving weights to and from the tf-keras process that runs tensorflow-model-optimization.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

# Config keys that set a layer's width; the student scales them.
WIDTH_KEYS = ("units", "filters", "output_dim")


def output_kind(model: keras.Model, regression: bool) -> str:
    """How the model's output reads: softmax, sigmoid, logits (classification) or linear."""
    if regression:
        return "linear"
    layer = model.layers[-1]
    name = getattr(layer, "activation", None)
    name = getattr(name, "__name__", str(name)) if name is not None else ""
    if layer.__class__.__name__ == "Softmax" or name == "softmax":
        return "softmax"
    if name == "sigmoid":
        return "sigmoid"
    return "logits"


def save_plain(model: keras.Model, path: Path) -> Path:
    """Save the weights and architecture only (no optimizer state), so sizes compare fairly."""
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    clone.save(path)
    return path


def head_layer(model: keras.Model) -> keras.layers.Layer:
    """The last layer with weights: the classifier or regressor head, whose width is the task's."""
    return [layer for layer in model.layers if layer.weights][-1]


def make_student(teacher: keras.Model, width: float) -> keras.Model:
    """The teacher's architecture with every hidden width scaled by `width` (the head keeps its
    size); layers whose shapes do not change (input normalization) keep the teacher's weights."""
    head = head_layer(teacher).name

    def clone(layer: keras.layers.Layer) -> keras.layers.Layer:
        config = layer.get_config()
        if layer.name != head:
            for key in WIDTH_KEYS:
                if isinstance(config.get(key), int):
                    config[key] = max(1, int(round(config[key] * width)))
        return layer.__class__.from_config(config)

    student = keras.models.clone_model(teacher, clone_function=clone)
    for t_layer in teacher.layers:
        try:
            s_layer = student.get_layer(t_layer.name)
        except ValueError:
            continue
        t_weights, s_weights = t_layer.get_weights(), s_layer.get_weights()
        same = bool(t_weights) and [w.shape for w in t_weights] == [w.shape for w in s_weights]
        # Statistics only (such as an adapted Normalization's): trainable weights of an unchanged
        # layer would tie the student to the teacher's features.
        if same and not t_layer.trainable_weights:
            s_layer.set_weights(t_weights)
    return student


def quantization_ready(model: keras.Model) -> tuple[keras.Model, int]:
    """A copy whose Normalization layers give unit variance to inputs that were constant in the
    training data, and how many such inputs there were.

    Normalization divides by max(sqrt(variance), epsilon): for a constant column that factor is
    about 1e7, and in a full-int8 model it sets the scale of the whole multiplier tensor, so the
    other columns' factors round to zero. With variance 1 the column still normalizes to 0 on
    the data the model was trained on, and every scale stays usable.
    """
    fixed = 0

    def clone(layer: keras.layers.Layer) -> keras.layers.Layer:
        nonlocal fixed
        config = layer.get_config()
        if isinstance(layer, keras.layers.Normalization) and config.get("variance") is not None:
            variance = np.asarray(config["variance"], dtype=np.float64)
            constant = variance <= 1e-12
            if constant.any():
                fixed += int(constant.sum())
                config["variance"] = np.where(constant, 1.0, variance).tolist()
        return layer.__class__.from_config(config)

    if not any(isinstance(layer, keras.layers.Normalization) for layer in model.layers):
        return model, 0
    ready = keras.models.clone_model(model, clone_function=clone)
    ready.set_weights(model.get_weights())
    for layer in ready.layers:  # adapted layers keep their statistics as weights instead
        names = [w.name for w in layer.weights]
        if isinstance(layer, keras.layers.Normalization) and "variance" in names:
            weights = layer.get_weights()
            i = names.index("variance")
            constant = weights[i] <= 1e-12
            fixed += int(constant.sum())
            weights[i] = np.where(constant, 1.0, weights[i]).astype(weights[i].dtype)
            layer.set_weights(weights)
    return ready, fixed


def _as_logits(pred: tf.Tensor, kind: str) -> tf.Tensor:
    eps = 1e-7
    if kind == "softmax":
        return tf.math.log(tf.clip_by_value(pred, eps, 1.0))
    if kind == "sigmoid":
        pred = tf.clip_by_value(pred, eps, 1.0 - eps)
        return tf.math.log(pred / (1.0 - pred))
    return pred


def task_loss(kind: str, y: tf.Tensor, pred: tf.Tensor, n_outputs: int) -> tf.Tensor:
    """The training loss the head implies: cross-entropy for classes, MSE for regression."""
    if kind == "linear":
        y = tf.reshape(tf.cast(y, pred.dtype), tf.shape(pred))
        return tf.reduce_mean(tf.square(pred - y))
    logits = _as_logits(pred, kind)
    if n_outputs == 1:
        y = tf.reshape(tf.cast(y, logits.dtype), tf.shape(logits))
        return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=logits))
    if len(y.shape) == len(pred.shape) and y.shape[-1] == n_outputs:
        return tf.reduce_mean(
            tf.nn.softmax_cross_entropy_with_logits(tf.cast(y, logits.dtype), logits)
        )
    y = tf.reshape(tf.cast(y, tf.int32), [-1])
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits))


class Distiller(keras.Model):
    """Trains a student on the labels and on the teacher's softened outputs (Hinton et al.):
    loss = alpha * task loss + (1 - alpha) * T^2 * KL(teacher_T || student_T)."""

    def __init__(
        self,
        student: keras.Model,
        teacher: keras.Model,
        kind: str,
        alpha: float = 0.3,
        temperature: float = 4.0,
    ) -> None:
        super().__init__()
        self.student = student
        self.teacher = teacher
        self.teacher.trainable = False
        self.kind = kind
        self.alpha = alpha
        self.temperature = temperature
        self.n_outputs = int(student.output.shape[-1])

    def call(self, x: tf.Tensor, training: bool = False) -> tf.Tensor:
        return self.student(x, training=training)

    def compute_loss(
        self,
        x: Any = None,
        y: Any = None,
        y_pred: Any = None,
        sample_weight: Any = None,
        training: bool = True,
    ) -> tf.Tensor:
        teacher_pred = self.teacher(x, training=False)
        hard = task_loss(self.kind, y, y_pred, self.n_outputs)
        if self.kind == "linear":
            # Regression: match the teacher's predictions (its smoothed view of the targets).
            soft = tf.reduce_mean(tf.square(y_pred - teacher_pred))
            return self.alpha * hard + (1.0 - self.alpha) * soft
        t = self.temperature
        s_logits = _as_logits(y_pred, self.kind) / t
        t_logits = _as_logits(teacher_pred, self.kind) / t
        if self.n_outputs == 1:
            soft = tf.reduce_mean(
                tf.nn.sigmoid_cross_entropy_with_logits(
                    labels=tf.sigmoid(t_logits), logits=s_logits
                )
                - tf.nn.sigmoid_cross_entropy_with_logits(
                    labels=tf.sigmoid(t_logits), logits=t_logits
                )
            )
        else:
            t_prob = tf.nn.softmax(t_logits)
            soft = tf.reduce_mean(
                tf.reduce_sum(
                    t_prob * (tf.nn.log_softmax(t_logits) - tf.nn.log_softmax(s_logits)), axis=-1
                )
            )
        return self.alpha * hard + (1.0 - self.alpha) * (t**2) * soft


def distill(
    teacher: keras.Model,
    student: keras.Model,
    kind: str,
    data: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    epochs: int,
    batch_size: int,
    learning_rate: float,
) -> keras.Model:
    """Fit the student through a Distiller; keep the epoch with the best validation loss."""
    x_train, y_train, x_val, y_val = data
    distiller = Distiller(student, teacher, kind)
    distiller.compile(optimizer=keras.optimizers.Adam(learning_rate))
    best = keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=max(2, epochs // 3), restore_best_weights=True
    )
    distiller.fit(
        x_train,
        y_train,
        validation_data=(x_val, y_val),
        epochs=epochs,
        batch_size=batch_size,
        callbacks=[best],
        verbose=0,
    )
    return student


# ---- to and from tf-keras (tensorflow-model-optimization works on tf-keras models only) ----


def export_for_tf_keras(model: keras.Model, directory: Path) -> None:
    """Write the architecture (as layer configs and connections) and each layer's weights."""
    config = model.get_config()
    layers = []
    for entry in config["layers"]:
        layers.append(
            {
                "class_name": entry["class_name"],
                "module": entry.get("module") or "",
                "config": entry["config"],
                "inbound": _inbound_names(entry.get("inbound_nodes", [])),
            }
        )
    if model.__class__.__name__ == "Sequential":
        # Sequential configs list layers in order with no connections: chain them.
        for prev, entry in zip(layers, layers[1:], strict=False):
            entry["inbound"] = [prev["config"]["name"]]
    spec = {"layers": layers, "outputs": [t._keras_history.operation.name for t in model.outputs]}
    (directory / "architecture.json").write_text(json.dumps(spec, default=_jsonable), "utf-8")
    weights = {
        f"{layer.name}/{i}": w for layer in model.layers for i, w in enumerate(layer.get_weights())
    }
    np.savez(directory / "weights.npz", **weights)


def _inbound_names(nodes: list[dict[str, Any]]) -> list[str]:
    names: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
            names.append(value["config"]["keras_history"][0])
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)

    for node in nodes:
        # Positional inputs only: keyword ones are masks, which tf-keras propagates itself.
        walk(node.get("args", []))
    return names


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot store {type(value).__name__} in the architecture file")


def load_weights_by_layer(model: keras.Model, path: Path) -> None:
    """Set each layer's weights from an npz written by the tf-keras process."""
    stored = np.load(path)
    for layer in model.layers:
        keys = sorted((k for k in stored.files if k.rsplit("/", 1)[0] == layer.name), key=_index)
        if keys:
            layer.set_weights([stored[k] for k in keys])


def _index(key: str) -> int:
    return int(key.rsplit("/", 1)[1])


def kernel_sparsity(model: keras.Model) -> dict[str, float]:
    """Fraction of exact zeros in each layer's main weight (kernel / embeddings)."""
    out: dict[str, float] = {}
    for layer in model.layers:
        for weight in layer.trainable_weights:
            name = weight.name.split("/")[-1].split(":")[0]
            if name in ("kernel", "embeddings", "depthwise_kernel"):
                value = np.asarray(weight.numpy())
                out[f"{layer.name}/{name}"] = float(np.mean(value == 0.0))
    return out


def param_count(model: keras.Model) -> int:
    return int(sum(np.prod(w.shape) for w in model.weights))
