"""TensorFlow Lite: conversion (float, dynamic range, float16, full int8) and the interpreter.

Conversion goes through a SavedModel exported once per model (`model.export`), the path the
LiteRT converter documents for Keras 3. Quantizing *during* conversion (the converter's
`optimizations`, as here) is the legacy path: LiteRT's documentation deprecates it in favour of a
float conversion quantized afterwards by the LiteRT Quantizer (`litert-quantizer`); see the README
(Compression) for the migration and why this project still uses the converter. The interpreter
is LiteRT's (`ai_edge_litert`) when that package is installed and TensorFlow's
`tf.lite.Interpreter` (same API, deprecated) otherwise.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

# TensorFlow's own log lines (absl), left out of error messages.
LOG_LINE = re.compile(r"^[WIEF]\d{4} |^WARNING: All log messages")
# variant -> what it does (the report repeats it).
VARIANTS = {
    "float": "float32 TFLite, no quantization (the reference for the others)",
    "dynamic_range": "int8 weights, float activations; no calibration data needed",
    "float16": "float16 weights; for GPU delegates, about 2x smaller",
    "int8": "full integer: int8 weights and activations, calibrated on training data",
}


def export_saved_model(model: Any, directory: Path) -> Path:
    """Export a Keras 3 model's inference function as a SavedModel (the converter's input).

    Recurrent layers convert to TFLite's fused LSTM/GRU kernels only with a static batch size,
    so models with one are exported for one example at a time (TFLiteModel loops over rows).
    """
    recurrent = any(
        isinstance(layer, keras.layers.RNN | keras.layers.Bidirectional) for layer in model.layers
    )
    signature = None
    if recurrent:
        spec = model.inputs[0]
        signature = [tf.TensorSpec((1, *spec.shape[1:]), spec.dtype)]
    model.export(str(directory), format="tf_saved_model", verbose=False, input_signature=signature)
    return directory


def convert(
    saved_model: Path,
    variant: str,
    calibration: np.ndarray | None = None,
) -> bytes:
    """One TFLite flatbuffer of the SavedModel.

    Pruned zeros are stored densely: the converter's experimental sparse format made int8 files
    larger and failed on XNNPACK in our measurements, so pruning's gain shows in the gzip size.
    """
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model))
    converter.optimizations = [] if variant == "float" else [tf.lite.Optimize.DEFAULT]
    if variant == "float16":
        converter.target_spec.supported_types = [tf.float16]
    elif variant == "int8":
        if calibration is None:
            raise ValueError("full int8 quantization needs calibration data")
        converter.representative_dataset = _representative(calibration)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        # Integer input and output too (what the Edge TPU and integer-only MCUs need);
        # integer inputs such as token ids stay as they are.
        if np.issubdtype(calibration.dtype, np.floating):
            converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    elif variant != "dynamic_range" and variant != "float":
        raise ValueError(f"unknown TFLite variant {variant!r}; expected one of {sorted(VARIANTS)}")
    return converter.convert()


def convert_in_child(saved_model: Path, variant: str, calibration: np.ndarray, out: Path) -> None:
    """convert() in a child process: the converter's calibration is native code that can crash
    (it does on some recurrent models), and a crash must fail one variant, not the whole step."""
    samples = out.with_suffix(".calibration.npy")
    np.save(samples, calibration)
    command = [sys.executable, "-m", "trainer.optimize_tflite", str(saved_model), variant]
    command += [str(samples), str(out)]
    try:
        done = subprocess.run(command, capture_output=True, text=True)
    finally:
        samples.unlink(missing_ok=True)
    if done.returncode != 0:
        how = (
            f"crashed ({signal.Signals(-done.returncode).name})"
            if done.returncode < 0
            else f"exited with status {done.returncode}"
        )
        # The last lines that are not TensorFlow's own logging say what went wrong, if anything.
        lines = [ln for ln in done.stderr.splitlines() if ln.strip() and not LOG_LINE.match(ln)]
        raise RuntimeError(" | ".join([f"the {variant} conversion {how}", *lines[-3:]]))


def _representative(samples: np.ndarray) -> Any:
    def gen() -> Iterator[list[np.ndarray]]:
        for i in range(len(samples)):
            yield [samples[i : i + 1]]

    return gen


def _interpreter_class() -> Any:
    try:
        from ai_edge_litert.interpreter import Interpreter

        return Interpreter
    except ImportError:
        warnings.filterwarnings("ignore", message=r".*tf\.lite\.Interpreter is deprecated.*")
        return tf.lite.Interpreter


class TFLiteModel:
    """A .tflite file on the interpreter: float arrays in, float scores out, any batch size."""

    def __init__(self, path: str | Path, num_threads: int | None = None) -> None:
        self.interpreter = _interpreter_class()(model_path=str(path), num_threads=num_threads)
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]
        # A model exported with a static batch (recurrent layers) takes that many rows per call.
        self.fixed_batch = int(self.input["shape_signature"][0])
        self._batch = -1

    def _resize(self, shape: tuple[int, ...]) -> None:
        if shape[0] != self._batch:
            self.interpreter.resize_tensor_input(self.input["index"], list(shape))
            self.interpreter.allocate_tensors()
            self.output = self.interpreter.get_output_details()[0]
            self._batch = shape[0]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.fixed_batch > 0 and len(x) != self.fixed_batch:
            step, n = self.fixed_batch, len(x)
            padded = np.concatenate([x, np.repeat(x[-1:], -n % step, axis=0)])
            parts = [self(padded[i : i + step]) for i in range(0, len(padded), step)]
            return np.concatenate(parts)[:n]
        if self.fixed_batch < 0:
            self._resize(tuple(x.shape))
        elif self._batch < 0:
            self.interpreter.allocate_tensors()
            self._batch = self.fixed_batch
        dtype = self.input["dtype"]
        if dtype in (np.int8, np.uint8) and np.issubdtype(x.dtype, np.floating):
            scale, zero = self.input["quantization"]
            info = np.iinfo(dtype)
            x = np.clip(np.round(x / scale + zero), info.min, info.max)
        self.interpreter.set_tensor(self.input["index"], x.astype(dtype))
        self.interpreter.invoke()
        out = self.interpreter.get_tensor(self.output["index"])
        if out.dtype in (np.int8, np.uint8):
            scale, zero = self.output["quantization"]
            out = (out.astype(np.float32) - zero) * scale
        return out

    def predict(self, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
        return np.concatenate(
            [self(x[i : i + batch_size]) for i in range(0, len(x), batch_size)], axis=0
        )


def main(argv: list[str] | None = None) -> None:
    """python -m trainer.optimize_tflite SAVED_MODEL VARIANT CALIBRATION.npy OUT.tflite"""
    saved_model, variant, calibration, out = argv or sys.argv[1:]
    Path(out).write_bytes(convert(Path(saved_model), variant, np.load(calibration)))


if __name__ == "__main__":
    main()
