"""Compress the trained model with the chosen techniques, in order, and measure each result.

    python -m trainer.optimize            # or: make optimize (after make train)

Reads `model_dir/model.keras` and the training data (`trainer.data.load_arrays`; the data flags
of trainer.task, such as --label_column, apply here too), writes every result under
`outputs/optimized/` (the one to ship also as `outputs/optimized/model.tflite` or `model.keras`)
and `compression_report.json`: size on disk, gzip size, validation accuracy or loss and CPU
latency (the TFLite interpreter for .tflite files) per step, against the targets of the answers.
Exit status 1 when a step failed (the report says why), 2 when there is no trained model.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from trainer import data as data_lib  # noqa: E402
from trainer import model as model_lib  # noqa: E402
from trainer import optimize_keras as kx  # noqa: E402
from trainer import optimize_tflite as lite  # noqa: E402
from trainer import task  # noqa: E402
from trainer.optimize_report import (  # noqa: E402
    Row,
    Targets,
    build_report,
    finish_row,
    format_table,
    gzip_size,
    preferred,
    score,
    size_on_disk,
    time_call,
    timed,
    to_ship,
    within_tolerance,
    write_report,
)

# From the recommendation (advisor): the techniques, in the order they run, and the targets.
STEPS = ["distillation", "pruning", "post_training_quantization"]
TARGETS = Targets(
    size_reduction_pct=80,
    latency_budget_ms=0,
    accuracy_drop_tolerance_pct=2.0,
    size_basis="disk",
)
TASK = "image_classification"
REGRESSION = not model_lib.CLASSIFICATION
# Edge devices (the Edge TPU in particular) run integer kernels only: full int8 ships even where a
# partly float variant scores better.
FULL_INT8_REQUIRED = False
# Fraction of each prunable weight set to zero (the guide's 50%); --sparsity overrides.
DEFAULT_SPARSITY = 0.5
# Width of the student relative to the teacher (about a quarter of the parameters).
DEFAULT_STUDENT_WIDTH = 0.5
# Post-training variants, most integer first: the first that meets the size target within the
# accuracy tolerance ships.
PTQ_PREFERENCE = ("int8", "dynamic_range", "float16")
# The post-training quantization the recommendation asks for ("": the most integer that meets
# the targets).
QUANTIZATION = ""
# Steps after which a model is stored as int8 (about a quarter of float32's bytes per weight).
INT8_STEPS = ("post_training_quantization", "quantization_aware_training")


class Pipeline:
    """Runs the steps; each takes the model the previous one chained (Keras, then TFLite)."""

    def __init__(self, args: argparse.Namespace, teacher: keras.Model, data: tuple) -> None:
        self.args = args
        self.out = Path(args.output_dir)
        self.teacher = teacher
        self.data = data
        self.kind = kx.output_kind(teacher, REGRESSION)
        self.model: keras.Model | None = teacher  # None once the chain is a TFLite file
        self.flatbuffer: Path | None = None
        self.current: Path | None = None  # the file of the model the next step starts from
        x_train, _, x_val, _ = data
        self.batch = x_val[: min(len(x_val), args.batch_size)]
        self.single = x_val[:1]
        self.calibration = x_train[: min(len(x_train), args.calibration_samples)]
        self.reference: dict[str, tuple[int, int]] = {}
        self.baseline_row: Row | None = None
        self.serving: list[str] = []
        self.tmp = ""

    # ---- measuring ----

    def _row(self, step: str, variant: str, path: Path, fmt: str, details: dict) -> Row:
        ref, ref_gz = self.reference.get(fmt, (None, None))
        return Row(
            step=step,
            variant=variant,
            artifact=_rel(path),
            format=fmt,
            size_bytes=size_on_disk(path),
            gzip_bytes=gzip_size(path),
            reference_bytes=ref,
            reference_gzip_bytes=ref_gz,
            batch_size=len(self.batch),
            details=details,
        )

    def measure_keras(
        self, step: str, variant: str, model: keras.Model, path: Path, details: dict | None = None
    ) -> Row:
        """Save `model` (weights and architecture, no optimizer state) and measure the file."""
        kx.save_plain(model, path)
        loaded = keras.models.load_model(path, compile=False)
        row = self._row(step, variant, path, "keras", {"parameters": kx.param_count(loaded)})
        row.details.update(details or {})
        fn = tf.function(lambda x: loaded(x, training=False), reduce_retracing=True)

        def run(x: np.ndarray) -> np.ndarray:
            return np.asarray(fn(tf.constant(x)))

        row.metric, row.value = score(_batched(run, self.data[2]), self.data[3], REGRESSION)
        row.latency_ms_batch = time_call(lambda: run(self.batch))
        row.latency_ms_single = time_call(lambda: run(self.single))
        return finish_row(row, self.baseline_row, TARGETS)

    def measure_tflite(
        self, step: str, variant: str, path: Path, details: dict | None = None
    ) -> Row:
        """Measure a .tflite file on the interpreter (input quantized for integer models)."""
        model = lite.TFLiteModel(path, num_threads=self.args.threads)
        row = self._row(step, variant, path, "tflite", dict(details or {}))
        row.details["input_dtype"] = np.dtype(model.input["dtype"]).name
        row.metric, row.value = score(model.predict(self.data[2]), self.data[3], REGRESSION)
        row.latency_ms_batch = time_call(lambda: model(self.batch))
        row.latency_ms_single = time_call(lambda: model(self.single))
        return finish_row(row, self.baseline_row, TARGETS)

    def _saved_model(self, model: keras.Model, name: str) -> Path:
        return lite.export_saved_model(model, Path(tempfile.mkdtemp(prefix=name, dir=self.tmp)))

    def baseline(self) -> list[Row]:
        """The trained model as the reference: its Keras file and its float TFLite conversion,
        so that every later file compares with the trained model in the same format."""
        base = self.out / "baseline"
        base.mkdir(parents=True, exist_ok=True)
        flat = base / "model_float.tflite"
        flat.write_bytes(lite.convert(self._saved_model(self.teacher, "teacher"), "float"))
        self.reference["tflite"] = (size_on_disk(flat), gzip_size(flat))
        trained = {"trained_file_bytes": size_on_disk(Path(self.args.model_dir) / "model.keras")}
        keras_path = base / "model.keras"
        row = self.measure_keras("baseline", "trained", self.teacher, keras_path, trained)
        self.reference["keras"] = (row.size_bytes or 0, row.gzip_bytes or 0)
        row.reference_bytes, row.reference_gzip_bytes = self.reference["keras"]
        self.baseline_row = finish_row(row, None, TARGETS)
        rows = [row, self.measure_tflite("baseline", "float_tflite", flat)]
        for r in rows:  # the reference meets no target: it is what the others are held to
            r.targets = {}
        self.current = keras_path
        return rows

    def _chain(self, row: Row, model: keras.Model | None = None) -> Row:
        """The next step starts from this row's model (Keras), or its TFLite file."""
        row.chained = True
        self.current = Path(row.artifact)
        if model is None:
            self.model, self.flatbuffer = None, self.current
        else:
            self.model = model
        return row

    # ---- steps ----

    def _needs_keras(self, step: str) -> Row | None:
        if self.model is None:
            return Row(step=step, status="skipped", reason="the model is a TFLite file already")
        return None

    def distillation(self) -> list[Row]:
        if skip := self._needs_keras("distillation"):
            return [skip]
        width, estimate = self.args.student_width, {}
        if width is None:
            width, estimate = self._width_for_target()
        student = kx.make_student(self.model, width)
        kx.distill(
            self.model,
            student,
            self.kind,
            self.data,
            epochs=self.args.distill_epochs,
            batch_size=self.args.batch_size,
            learning_rate=self.args.learning_rate,
        )
        details = {"teacher_parameters": kx.param_count(self.model), "width": width, **estimate}
        row = self.measure_keras(
            "distillation", f"student_width_{width:g}", student, self.out / "student.keras", details
        )
        return [self._chain(row, student)]

    def _width_for_target(self) -> tuple[float, dict]:
        """The widest student whose shipped file is predicted to meet the size target.

        A file's size is about a fixed overhead plus bytes per parameter: 4 for float32, about 1
        after an int8 step. The overhead is measured on the teacher's own file (converted with
        int8 weights when an int8 step follows), the student's parameters are counted on the
        built (untrained) model, and a 5% margin covers what scales differently (int32 biases,
        per-channel scales). Width scales every hidden layer, so parameters shrink about with
        its square.
        """
        if TARGETS.size_reduction_pct <= 0:
            return DEFAULT_STUDENT_WIDTH, {}
        later = STEPS[STEPS.index("distillation") + 1 :]
        int8 = any(step in INT8_STEPS for step in later)
        params = kx.param_count(self.model)
        if int8:
            # float16 weights take 2 bytes; int8 ones 1.
            variant = "float16" if QUANTIZATION == "float16" else "dynamic_range"
            per_param = 2.0 if QUANTIZATION == "float16" else 1.0
            reference = self.reference["tflite"][0]
            saved = self._saved_model(self.model, "estimate")
            overhead = len(lite.convert(saved, variant)) - per_param * params
        else:
            reference, per_param = self.reference["keras"][0], 4.0
            overhead = reference - 4 * params
        budget = 0.95 * (1 - TARGETS.size_reduction_pct / 100) * reference
        estimate = {"size_budget_bytes": int(budget), "bytes_per_parameter": per_param}
        for width in np.arange(0.95, 0.05, -0.05).round(2):
            predicted = max(0, overhead) + per_param * kx.param_count(
                kx.make_student(self.model, float(width))
            )
            if predicted <= budget:
                return float(width), {**estimate, "predicted_bytes": int(predicted)}
        # No width gets there (the format's fixed overhead alone is too large): keep a student
        # that can still learn, and let the report say how close it comes.
        return DEFAULT_STUDENT_WIDTH, {**estimate, "predicted_bytes": None}

    def _tfmot(self, technique: str, extra: list[str]) -> tuple[Path, dict]:
        """Run trainer.optimize_tfmot in its own process (tf-keras) on the current model."""
        work = Path(tempfile.mkdtemp(prefix=technique, dir=self.tmp))
        kx.export_for_tf_keras(self.model, work)
        x_train, y_train, x_val, y_val = self.data
        np.savez(work / "data.npz", x_train=x_train, y_train=y_train, x_val=x_val, y_val=y_val)
        a = self.args
        command = [sys.executable, "-m", "trainer.optimize_tfmot", technique, f"--work={work}"]
        command += [f"--output_kind={self.kind}", f"--epochs={a.epochs}", f"--seed={a.seed}"]
        command += [f"--batch_size={a.batch_size}", f"--learning_rate={a.learning_rate}", *extra]
        env = {**os.environ, "TF_USE_LEGACY_KERAS": "1"}
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"trainer.optimize_tfmot {technique} failed:\n{done.stderr[-3000:]}")
        return work, json.loads((work / f"{technique}.json").read_text("utf-8"))

    def pruning(self) -> list[Row]:
        """Magnitude pruning with tensorflow-model-optimization during a short fine-tune, at the
        configured sparsity and, when that loses more than the accuracy tolerance, at half of it;
        a pruned model beyond the tolerance is measured and reported but not chained."""
        if skip := self._needs_keras("pruning"):
            return [skip]
        rows = []
        for sparsity in (self.args.sparsity, round(self.args.sparsity / 2, 3)):
            work, info = self._tfmot("prune", [f"--sparsity={sparsity}"])
            pruned = keras.models.clone_model(self.model)
            pruned.set_weights(self.model.get_weights())
            kx.load_weights_by_layer(pruned, work / "pruned_weights.npz")
            name = "pruned.keras" if not rows else f"pruned_sparsity_{sparsity:g}.keras"
            path = self.out / name
            row = self.measure_keras("pruning", f"sparsity_{sparsity:g}", pruned, path)
            # Count the zeros in the file written, not in memory: that is what ships.
            per_layer = kx.kernel_sparsity(keras.models.load_model(path, compile=False))
            layers = info["pruned_layers"]
            row.details.update(
                target_sparsity=sparsity,
                pruned_layers=layers,
                kernel_sparsity={k: v for k, v in per_layer.items() if k.split("/")[0] in layers},
            )
            rows.append(row)
            if within_tolerance(row, TARGETS):
                self._chain(row, pruned)
                return rows
            row.details["not_chained"] = (
                f"{row.degradation} points lost, beyond the tolerance of "
                f"{TARGETS.accuracy_drop_tolerance_pct}"
            )
        return rows

    def _ready(self) -> dict[str, int]:
        """Make the current model safe for int8 scales (see kx.quantization_ready)."""
        self.model, fixed = kx.quantization_ready(self.model)
        return {"constant_inputs_given_unit_variance": fixed} if fixed else {}

    def quantization_aware_training(self) -> list[Row]:
        """Fine-tune with fake quantization (tensorflow-model-optimization), then int8 TFLite."""
        if skip := self._needs_keras("quantization_aware_training"):
            return [skip]
        ready = self._ready()
        float_row = self._float_input("quantization_aware_training")
        work, info = self._tfmot("qat", [])
        info.update(ready)
        path = self.out / "qat_int8.tflite"
        shutil.copyfile(work / "qat.tflite", path)
        info["float_tflite"] = float_row.artifact
        row = self.measure_tflite("quantization_aware_training", "int8", path, info)
        return [float_row, self._chain(row)]

    def _float_input(self, step: str) -> Row:
        """The float TFLite conversion of the step's input: what its quantized files compare to."""
        path = self.out / f"{step}_input_float.tflite"
        path.write_bytes(lite.convert(self._saved_model(self.model, "float"), "float"))
        return self.measure_tflite(step, "float", path, {"what": lite.VARIANTS["float"]})

    def post_training_quantization(self) -> list[Row]:
        """float16, dynamic range and full int8 TFLite files of the current model; the most
        integer one within the accuracy tolerance ships (full int8 always on edge devices)."""
        if skip := self._needs_keras("post_training_quantization"):
            return [skip]
        ready = self._ready()
        rows = [self._float_input("post_training_quantization")]
        saved = self._saved_model(self.model, "ptq")
        for variant in ("float16", "dynamic_range", "int8"):
            path = self.out / f"ptq_{variant}.tflite"
            details = {"what": lite.VARIANTS[variant], "float_tflite": rows[0].artifact, **ready}
            try:
                if variant == "int8":
                    lite.convert_in_child(saved, variant, self.calibration, path)
                else:
                    path.write_bytes(lite.convert(saved, variant))
                rows.append(
                    self.measure_tflite("post_training_quantization", variant, path, details)
                )
            except Exception as exc:  # e.g. an op with no int8 kernel: the others may work
                traceback.print_exc()
                reason = f"{type(exc).__name__}: {exc}"[:500]
                rows.append(Row("post_training_quantization", variant, "failed", reason))
        done = {r.variant: r for r in rows[1:] if r.status == "ok"}
        if not done:
            raise RuntimeError("no quantized variant converted: " + rows[-1].reason)
        ranked = [done[v] for v in PTQ_PREFERENCE if v in done]
        if FULL_INT8_REQUIRED and "int8" in done:
            chosen = done["int8"]
        else:
            chosen = preferred(ranked, TARGETS)
        self._chain(chosen)
        return rows

    def tflite(self) -> list[Row]:
        """The on-device file: the quantized flatbuffer if an earlier step made one, otherwise
        the float conversion of the current model."""
        path = self.out / "model.tflite"
        if self.flatbuffer is not None:
            if self.flatbuffer.resolve() != path.resolve():
                shutil.copyfile(self.flatbuffer, path)
            variant = "from_" + self.flatbuffer.stem
        else:
            path.write_bytes(lite.convert(self._saved_model(self.model, "tflite"), "float"))
            variant = "float"
        row = self.measure_tflite("tflite", variant, path, {"signature": "serving_default"})
        return [self._chain(row)]

    def tensorrt(self) -> list[Row]:
        """TF-TRT with FP16 kernels where the runtime is there (an NVIDIA GPU and a TensorFlow
        built with TensorRT); otherwise skipped, with the reason and the way to do it."""
        reason = tensorrt_unavailable()
        if reason:
            return [Row(step="tensorrt", status="skipped", reason=reason)]
        if skip := self._needs_keras("tensorrt"):
            return [skip]
        from tensorflow.python.compiler.tensorrt import trt_convert as trt

        params = trt.TrtConversionParams(precision_mode=trt.TrtPrecisionMode.FP16)
        converter = trt.TrtGraphConverterV2(
            input_saved_model_dir=str(self._saved_model(self.model, "trt")),
            conversion_params=params,
        )
        converter.convert()
        converter.build(input_fn=lambda: iter([(tf.constant(self.batch),)]))
        path = self.out / "tensorrt_savedmodel"
        converter.save(str(path))
        serve = tf.saved_model.load(str(path)).signatures["serving_default"]

        def run(x: np.ndarray) -> np.ndarray:
            return next(iter(serve(tf.constant(x)).values())).numpy()

        row = self._row("tensorrt", "fp16", path, "savedmodel", {})
        row.metric, row.value = score(_batched(run, self.data[2]), self.data[3], REGRESSION)
        row.latency_ms_batch = time_call(lambda: run(self.batch))
        row.latency_ms_single = time_call(lambda: run(self.single))
        row.chained = True
        return [finish_row(row, self.baseline_row, TARGETS)]

    def steps(self) -> dict[str, Callable[[], list[Row]]]:
        return {
            "distillation": self.distillation,
            "pruning": self.pruning,
            "quantization_aware_training": self.quantization_aware_training,
            "post_training_quantization": self.post_training_quantization,
            "tflite": self.tflite,
            "tensorrt": self.tensorrt,
        }

    def run(self, steps: list[str]) -> tuple[list[Row], list[Row], bool]:
        self.out.mkdir(parents=True, exist_ok=True)
        rows: list[Row] = []
        failed = False
        with tempfile.TemporaryDirectory(prefix="optimize-") as tmp:
            self.tmp = tmp
            baseline = timed(self.baseline)
            for step in steps:
                try:
                    rows.extend(timed(self.steps()[step]))
                except Exception as exc:  # the report records it; the next steps still run
                    failed = True
                    traceback.print_exc()
                    reason = f"{type(exc).__name__}: {exc}"[:2000]
                    rows.append(Row(step=step, status="failed", reason=reason))
        self.serving = self.ship(rows)
        return baseline, rows, failed

    def ship(self, rows: list[Row]) -> list[str]:
        """The model to serve under a fixed name, model.tflite or model.keras: the last chained
        one, or when that loses more than the tolerance, the best one within it (see to_ship)."""
        final, _ = to_ship(rows, TARGETS)
        if final is None or final.format == "savedmodel":  # TF-TRT output stays where it is
            return []
        source = Path(final.artifact)
        target = self.out / ("model.tflite" if final.format == "tflite" else "model.keras")
        if source.resolve() != target.resolve():
            shutil.copyfile(source, target)
        return [_rel(target)]


def _batched(run: Callable[[np.ndarray], np.ndarray], x: np.ndarray, size: int = 256) -> np.ndarray:
    return np.concatenate([run(x[i : i + size]) for i in range(0, len(x), size)], axis=0)


def tensorrt_unavailable() -> str:
    """Why TF-TRT cannot run here ('' when it can)."""
    missing = []
    if not tf.config.list_physical_devices("GPU"):
        missing.append("no NVIDIA GPU is visible to TensorFlow")
    try:
        from tensorflow.compiler.tf2tensorrt._pywrap_py_utils import is_tensorrt_enabled

        enabled = bool(is_tensorrt_enabled())
    except ImportError:
        enabled = False
    if not enabled:
        missing.append(
            f"TensorFlow {tf.__version__} is built without TensorRT (TF-TRT left the pip wheels "
            "after 2.17)"
        )
    if not missing:
        return ""
    return (
        "; ".join(missing)
        + ". To serve on NVIDIA GPUs with TensorRT: run `make optimize` on a GPU machine with a "
        "TensorRT-enabled TensorFlow (NVIDIA's TensorFlow container), which converts the model "
        "with TF-TRT in FP16; or export the SavedModel in the model folder to ONNX (tf2onnx) and "
        "build an engine with `trtexec --fp16`."
    )


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def parse_args(argv: Sequence[str] | None) -> tuple[argparse.Namespace, dict[str, Any]]:
    """This step's flags, and the data options of trainer.task's flags (--label_column...)."""
    parser = argparse.ArgumentParser(
        prog="python -m trainer.optimize", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--model_dir",
        default=os.environ.get("AIP_MODEL_DIR") or "outputs/model",
        help="folder with model.keras (default: %(default)s)",
    )
    parser.add_argument("--data", default=data_lib.DEFAULT_DATA, help="the training data")
    parser.add_argument("--output_dir", default="outputs/optimized")
    parser.add_argument("--report", default="compression_report.json")
    parser.add_argument("--epochs", type=int, default=3, help="fine-tune epochs (QAT, pruning)")
    parser.add_argument(
        "--distill_epochs",
        type=int,
        default=30,
        help="most epochs of distillation (it stops early when the validation loss stalls)",
    )
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--learning_rate", type=float, default=1e-3)
    parser.add_argument("--sparsity", type=float, default=DEFAULT_SPARSITY)
    parser.add_argument(
        "--student_width",
        type=float,
        default=None,
        help="student width relative to the teacher (default: the widest predicted to meet the "
        f"size target, else {DEFAULT_STUDENT_WIDTH})",
    )
    parser.add_argument("--calibration_samples", type=int, default=200)
    parser.add_argument(
        "--threads", type=int, default=None, help="TFLite interpreter threads (default: its own)"
    )
    parser.add_argument("--seed", type=int, default=0)
    args, rest = parser.parse_known_args(argv)
    if not 0.0 < args.sparsity < 1.0:
        parser.error("--sparsity must be between 0 and 1")
    if args.student_width is not None and not 0.0 < args.student_width <= 1.0:
        parser.error("--student_width must be in (0, 1]")
    trainer_parser = task.build_parser()
    trainer_parser.prog = parser.prog
    # The data flags `make train` used (label column, image size, window...) come from the
    # model's preprocessing.json, so the step sees the inputs the model was trained on; flags
    # given here override them.
    trainer_parser.set_defaults(**trained_data_flags(Path(args.model_dir)))
    return args, task.data_options(trainer_parser.parse_args(rest))


def trained_data_flags(model_dir: Path) -> dict[str, Any]:
    """trainer.task's data flags as the trained model's preprocessing.json records them."""
    path = model_dir / "preprocessing.json"
    if not path.is_file():
        return {}
    meta = json.loads(path.read_text("utf-8"))
    flags = {"label_column": meta.get("label")}
    flags |= {k: meta.get(k) for k in ("image_size", "window", "sequence_length")}
    if "vocabulary" in meta:  # +2: the padding and out-of-vocabulary ids
        flags["vocab_size"] = len(meta["vocabulary"]) + 2
    return {k: v for k, v in flags.items() if v is not None}


def main(argv: Sequence[str] | None = None) -> int:
    args, options = parse_args(argv)
    keras.utils.set_random_seed(args.seed)
    model_path = Path(args.model_dir) / "model.keras"
    if not model_path.is_file():
        print(f"error: {model_path} not found; run `make train` first", file=sys.stderr)
        return 2
    teacher = keras.models.load_model(model_path, compile=False)
    try:
        data = tuple(np.asarray(a) for a in data_lib.load_arrays(args.data, **options))
    except (FileNotFoundError, data_lib.DataError) as exc:
        print(f"error: {exc}", file=sys.stderr)  # bad input: a message, no traceback
        return 2
    pipeline = Pipeline(args, teacher, data)
    baseline, rows, failed = pipeline.run(STEPS)
    meta = {
        "framework": "tensorflow",
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__},
        "task": TASK,
        "steps_chosen": STEPS,
        "machine": platform.processor() or platform.machine(),
        "model": str(model_path),
        "serving_artifacts": pipeline.serving,
    }
    report = build_report(meta, baseline, rows, TARGETS)
    write_report(args.report, report)
    print(format_table(baseline + rows, TARGETS))
    if report["closest"]:
        print("\n" + report["closest"]["verdict"])
    if not pipeline.serving:
        print("nothing ships: no compressed model is within the accuracy tolerance")
    print(f"\nreport: {args.report}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
