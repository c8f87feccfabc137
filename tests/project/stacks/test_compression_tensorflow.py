"""Compression in generated TensorFlow projects: train once, run each project's
`python -m trainer.optimize`, and hold its report to measurements re-taken here (TFLite files on
the interpreter, Keras files with Keras).

The teacher is wide (--hidden_units 1024) so that sizes are dominated by weights, not by the
file format, as they are for real models.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.helpers.compression import (
    ROOT_ANSWERS,
    Lab,
    check_rows_match_files,
    final_cut_pct,
    ok_rows,
    run_optimize,
    step_rows,
)
from tests.helpers.gen import recommendation_for

pytestmark = pytest.mark.slow

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# scenario -> (answers beyond ROOT_ANSWERS, the steps the engine must choose)
SCENARIOS: dict[str, tuple[dict[str, Any], list[str]]] = {
    "size_80": (
        {"deployment_target": "edge", "size_reduction_pct": 80, "accuracy_drop_tolerance_pct": 3.0},
        ["distillation", "pruning", "post_training_quantization"],
    ),
    "mobile": ({"deployment_target": "mobile"}, ["post_training_quantization", "tflite"]),
    "qat": (
        {"size_reduction_pct": 60, "accuracy_drop_tolerance_pct": 0.5},
        ["quantization_aware_training"],
    ),
    "tensorrt": ({"inference_hardware": "nvidia_gpu", "latency_budget_ms": 20.0}, ["tensorrt"]),
}
ANSWERS = {
    name: {**ROOT_ANSWERS, "framework": "tensorflow", **extra}
    for name, (extra, _) in SCENARIOS.items()
}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Lab:
    return Lab(
        tmp_path_factory.mktemp("tf_compression"),
        ANSWERS,
        train_flags=["--epochs=10", "--hidden_units=1024"],
        optimize_flags=[],
        rows=3000,
    )


def _interpreter(path: Path) -> Any:
    import tensorflow as tf

    warnings.filterwarnings("ignore", message=r".*tf\.lite\.Interpreter is deprecated.*")
    interpreter = tf.lite.Interpreter(model_path=str(path))
    interpreter.allocate_tensors()
    return interpreter


def _predict(path: Path, x: np.ndarray) -> np.ndarray:
    """Predictions of a .keras or .tflite file, with no code of the generated project."""
    if path.suffix == ".keras":
        import keras

        return keras.models.load_model(path, compile=False).predict(x, batch_size=256, verbose=0)
    interpreter = _interpreter(path)
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    interpreter.resize_tensor_input(inp["index"], list(x.shape))
    interpreter.allocate_tensors()
    if inp["dtype"] == np.int8:
        scale, zero = inp["quantization"]
        x = np.clip(np.round(x / scale + zero), -128, 127)
    interpreter.set_tensor(inp["index"], x.astype(inp["dtype"]))
    interpreter.invoke()
    out = interpreter.get_output_details()[0]
    y = interpreter.get_tensor(out["index"])
    if y.dtype == np.int8:
        scale, zero = out["quantization"]
        y = (y.astype(np.float32) - zero) * scale
    return y


def _int8_weights(path: Path) -> int:
    """Bytes of int8 constant tensors (weights: no batch dimension) in a .tflite file."""
    interpreter = _interpreter(path)
    return sum(
        int(np.prod(d["shape"]))
        for d in interpreter.get_tensor_details()
        if d["dtype"] == np.int8 and len(d["shape"]) and -1 not in d["shape_signature"]
    )


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_the_engine_chooses_the_steps_and_each_is_reported(lab: Lab, name: str) -> None:
    expected = SCENARIOS[name][1]
    assert recommendation_for(ANSWERS[name]).decisions["compression"]["steps"] == expected
    _, report = lab.optimized(name)
    assert report["steps_chosen"] == expected
    assert list(dict.fromkeys(r["step"] for r in report["steps"])) == expected


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_every_model_loads_predicts_and_matches_its_row(lab: Lab, name: str) -> None:
    project, report = lab.optimized(name)
    x_val, y_val = lab.validation()
    check_rows_match_files(report, project)
    for row in ok_rows(report):
        pred = _predict(project / row["artifact"], x_val)
        assert pred.shape[0] == len(y_val) and np.isfinite(pred).all()
        accuracy = float(np.mean(pred.argmax(axis=1) == y_val))
        # One example may flip on float rounding between Keras' predict and the step's call.
        assert accuracy == pytest.approx(row["value"], abs=1.0 / len(y_val) + 1e-9), row


@pytest.mark.parametrize("name", ["size_80", "mobile"])
def test_int8_post_training_quantization_is_at_most_035x_float(lab: Lab, name: str) -> None:
    project, report = lab.optimized(name)
    rows = {r["variant"]: r for r in step_rows(report, "post_training_quantization")}
    assert set(rows) == {"float", "float16", "dynamic_range", "int8"}
    assert all(r["status"] == "ok" for r in rows.values()), rows
    float_size = (project / rows["float"]["artifact"]).stat().st_size
    for variant in ("int8", "dynamic_range"):
        path = project / rows[variant]["artifact"]
        ratio = path.stat().st_size / float_size
        assert ratio <= 0.35, (variant, ratio)
        assert _int8_weights(path) > 0.5 * path.stat().st_size  # the weights are int8
    full = _interpreter(project / rows["int8"]["artifact"])
    assert full.get_input_details()[0]["dtype"] == np.int8  # integer-only, as edge TPUs need


def test_pruning_reaches_the_configured_sparsity(lab: Lab) -> None:
    import keras

    project, report = lab.optimized("size_80")
    (row,) = step_rows(report, "pruning")
    target = row["details"]["target_sparsity"]
    assert target == 0.5
    model = keras.models.load_model(project / row["artifact"], compile=False)
    assert row["details"]["pruned_layers"]
    for name in row["details"]["pruned_layers"]:
        kernel = np.asarray(model.get_layer(name).kernel)
        zeros = float(np.mean(kernel == 0))
        assert zeros >= target - 1.0 / kernel.size, (name, zeros)
    # The zeros survive int8 quantization and compress: a smaller download.
    (student,) = step_rows(report, "distillation")
    assert row["gzip_bytes"] < 0.8 * student["gzip_bytes"]


def test_the_student_is_smaller_and_within_the_tolerated_drop(lab: Lab) -> None:
    import keras

    project, report = lab.optimized("size_80")
    x_val, y_val = lab.validation()
    (row,) = step_rows(report, "distillation")
    base = report["baseline"][0]
    params = {
        r["step"]: keras.models.load_model(project / r["artifact"], compile=False).count_params()
        for r in (base, row)
    }
    assert params["distillation"] < params["baseline"]
    assert (project / row["artifact"]).stat().st_size < (project / base["artifact"]).stat().st_size
    accuracy = {
        r["step"]: float(np.mean(_predict(project / r["artifact"], x_val).argmax(1) == y_val))
        for r in (base, row)
    }
    drop = 100 * (accuracy["baseline"] - accuracy["distillation"])
    assert drop <= SCENARIOS["size_80"][0]["accuracy_drop_tolerance_pct"], accuracy


def test_the_80_percent_scenario_cuts_at_least_80_percent(lab: Lab) -> None:
    project, report = lab.optimized("size_80")
    cut = final_cut_pct(report, project)
    assert cut >= 80.0
    assert report["final"]["size_cut_pct"] == pytest.approx(cut, abs=0.01)
    assert report["final"]["targets"]["size_reduction_pct"]["met"] is True
    (served,) = report["serving_artifacts"]
    assert served.endswith("model.tflite")
    assert (project / served).read_bytes() == (project / report["final"]["artifact"]).read_bytes()


def test_mobile_ships_a_tflite_file(lab: Lab) -> None:
    project, report = lab.optimized("mobile")
    (row,) = step_rows(report, "tflite")
    assert row["status"] == "ok" and row["chained"] and row["format"] == "tflite"
    chosen = next(r for r in step_rows(report, "post_training_quantization") if r["chained"])
    assert (project / row["artifact"]).read_bytes() == (project / chosen["artifact"]).read_bytes()


def test_quantization_aware_training_writes_int8(lab: Lab) -> None:
    project, report = lab.optimized("qat")
    rows = {r["variant"]: r for r in step_rows(report, "quantization_aware_training")}
    assert rows["int8"]["status"] == "ok" and rows["int8"]["chained"]
    path = project / rows["int8"]["artifact"]
    assert path.stat().st_size <= 0.35 * (project / rows["float"]["artifact"]).stat().st_size
    assert _int8_weights(path) > 0


def test_tensorrt_is_reported_skipped_with_its_reason(lab: Lab) -> None:
    import tensorflow as tf

    assert not tf.config.list_physical_devices("GPU")  # nothing may pretend TensorRT ran here
    project, report = lab.optimized("tensorrt")
    (row,) = step_rows(report, "tensorrt")
    assert row["status"] == "skipped"
    assert "no NVIDIA GPU" in row["reason"] and "TensorRT" in row["reason"]
    assert row["artifact"] == "" and row["size_bytes"] is None and row["value"] is None
    assert report["final"]["artifact"] is None and report["serving_artifacts"] == []
    assert not (project / "outputs" / "optimized" / "tensorrt_savedmodel").exists()


def test_the_generated_optimize_tests_pass(lab: Lab) -> None:
    lab.run_generated_tests("size_80")


def test_bad_input_exits_2_with_a_message(lab: Lab, tmp_path: Path) -> None:
    project, _ = lab.optimized("mobile")
    for flags, expected in [
        ([f"--model_dir={tmp_path}"], "run `make train` first"),
        ([f"--data={tmp_path / 'missing.csv'}"], "missing.csv"),
        (["--student_width=0"], "--student_width"),
    ]:
        teacher = [f"--model_dir={lab.teacher() / 'out' / 'model'}"]
        done = run_optimize(project, [*teacher, *flags])
        assert done.returncode == 2, done.stderr[-2000:]
        assert expected in done.stderr and "Traceback" not in done.stderr
