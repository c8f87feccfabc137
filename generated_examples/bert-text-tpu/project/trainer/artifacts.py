"""What the chief writes at the end: the model directory and metrics.json.

model_dir/ (AIP_MODEL_DIR on Vertex AI, a gs:// folder there):
  model.keras          the Keras 3 model (float32): reload with keras.models.load_model; the
                       project's serving image (serving/predictor.py) serves it
  saved_model.pb, variables/, assets/
                       the SavedModel export for TensorFlow Serving (signature serving_default,
                       which takes raw text: the vocabulary is inside)
  preprocessing.json   how the data became the model's inputs (trainer.data)
"""

from __future__ import annotations

import inspect
import json
import os
import shutil
import tempfile
from typing import Any

import keras
import tensorflow as tf


def join(directory: str, name: str) -> str:
    return (
        directory.rstrip("/") + "/" + name if "://" in directory else os.path.join(directory, name)
    )


def parent(path: str) -> str:
    path = path.rstrip("/")
    head = path.rsplit("/", 1)[0] if "/" in path else "."
    return head or "/"


def write_text(path: str, text: str) -> None:
    """Write a file atomically: a temporary name in the same folder, then a rename (on Cloud
    Storage an object appears whole when its upload completes)."""
    directory = parent(path)
    tf.io.gfile.makedirs(directory)
    if "://" in path:
        with tf.io.gfile.GFile(path, "w") as handle:
            handle.write(text)
        return
    handle, partial = tempfile.mkstemp(dir=directory, prefix=".partial-")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(partial, path)


def write_json(path: str, payload: Any) -> None:
    write_text(path, json.dumps(payload, indent=2, sort_keys=True) + "\n")


def copy_tree(source: str, destination: str) -> None:
    """Copy a local folder's files into `destination` (local or gs://), replacing files."""
    for root, _, files in os.walk(source):
        relative = os.path.relpath(root, source)
        target_dir = destination if relative == "." else join(destination, relative)
        tf.io.gfile.makedirs(target_dir)
        for name in files:
            target = join(target_dir, name)
            if "://" in target:
                tf.io.gfile.copy(os.path.join(root, name), target, overwrite=True)
            else:
                # Copy beside the target, then rename: readers never see half a file.
                partial = target + ".partial"
                shutil.copyfile(os.path.join(root, name), partial)
                os.replace(partial, target)


def export_serving(model: keras.Model, directory: str, meta: dict[str, Any]) -> None:
    """The SavedModel for serving."""
    from trainer.data import make_vectorizer

    vectorizer = make_vectorizer(meta)
    vectorizer(tf.constant([""]))  # builds the layer, which the export requires
    archive = keras.export.ExportArchive()
    archive.track(vectorizer)
    archive.track(model)

    @tf.function(input_signature=[tf.TensorSpec(shape=[None], dtype=tf.string, name="text")])
    def serve(text: tf.Tensor) -> dict[str, tf.Tensor]:
        return {"probabilities": model(vectorizer(text), training=False)}

    archive.add_endpoint(name="serve", fn=serve)
    archive.add_endpoint(name="serving_default", fn=serve)
    quiet = (
        {"verbose": False} if "verbose" in inspect.signature(archive.write_out).parameters else {}
    )
    archive.write_out(directory, **quiet)


def save_model(model: keras.Model, model_dir: str, meta: dict[str, Any]) -> None:
    """model.keras, the SavedModel and preprocessing.json, built in a local folder first and
    then copied into `model_dir`."""
    staging = tempfile.mkdtemp(prefix="model-")
    try:
        model.save(os.path.join(staging, "model.keras"))
        export_serving(model, staging, meta)
        with open(os.path.join(staging, "preprocessing.json"), "w", encoding="utf-8") as out:
            json.dump(meta, out, indent=2)
        copy_tree(staging, model_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
