"""Compression in generated PyTorch projects: train once, run each project's
`python -m trainer.optimize`, and hold its report to measurements re-taken here.

The teacher is wide (--hidden_units 1024) so that sizes are dominated by weights, not by the
TorchScript container, as they are for real models.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

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
from tests.helpers.markers import no_gpu

pytestmark = pytest.mark.slow

MODEL_FLAGS = ["--hidden_units=1024"]
# scenario -> (answers beyond ROOT_ANSWERS, the steps the engine must choose)
SCENARIOS: dict[str, tuple[dict[str, Any], list[str]]] = {
    "size_80": (
        {"deployment_target": "edge", "size_reduction_pct": 80, "accuracy_drop_tolerance_pct": 3.0},
        ["distillation", "pruning", "post_training_quantization"],
    ),
    "mobile": ({"deployment_target": "mobile"}, ["post_training_quantization"]),
    "qat": (
        {"size_reduction_pct": 60, "accuracy_drop_tolerance_pct": 0.5},
        ["quantization_aware_training"],
    ),
    "tensorrt": ({"inference_hardware": "nvidia_gpu", "latency_budget_ms": 20.0}, ["tensorrt"]),
}
ANSWERS = {
    name: {**ROOT_ANSWERS, "framework": "pytorch", **extra}
    for name, (extra, _) in SCENARIOS.items()
}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Lab:
    return Lab(
        tmp_path_factory.mktemp("torch_compression"),
        ANSWERS,
        train_flags=["--epochs=10", "--device=cpu", *MODEL_FLAGS],
        optimize_flags=[],  # the trained --hidden_units comes from preprocessing.json
        rows=3000,
    )


def _predict(path: Path, x: np.ndarray) -> np.ndarray:
    model = torch.jit.load(str(path))
    with torch.inference_mode():
        return np.concatenate(
            [model(torch.from_numpy(x[i : i + 256])).numpy() for i in range(0, len(x), 256)]
        )


def _int8_linear_ops(path: Path) -> int:
    """How many int8 linear kernels (static or dynamic) the TorchScript graph calls."""
    return str(torch.jit.load(str(path)).inlined_graph).count("quantized::linear")


def _float_params(path: Path) -> int:
    state = torch.jit.load(str(path)).state_dict()
    return sum(v.numel() for v in state.values() if v.is_floating_point())


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
        assert accuracy == pytest.approx(row["value"], abs=1e-9), row["variant"]


@pytest.mark.parametrize("name", ["size_80", "mobile"])
def test_int8_post_training_quantization_is_at_most_035x_float(lab: Lab, name: str) -> None:
    project, report = lab.optimized(name)
    rows = step_rows(report, "post_training_quantization")
    assert {r["variant"] for r in rows} == {"dynamic_int8", "static_int8"}
    for row in rows:
        assert row["status"] == "ok", row["reason"]
        float_size = (project / row["details"]["input_artifact"]).stat().st_size
        assert row["details"]["input_bytes"] == float_size
        ratio = (project / row["artifact"]).stat().st_size / float_size
        assert ratio <= 0.35, (row["variant"], ratio)
        assert _int8_linear_ops(project / row["artifact"]), "no int8 kernels in the file"


def test_pruning_reaches_the_configured_sparsity(lab: Lab) -> None:
    project, report = lab.optimized("size_80")
    (row,) = step_rows(report, "pruning")
    target = row["details"]["target_sparsity"]
    assert target == 0.5
    state = torch.jit.load(str(project / row["artifact"])).state_dict()
    assert row["details"]["pruned_layers"]
    for layer in row["details"]["pruned_layers"]:
        weight = state[f"{layer}.weight"]
        zeros = float((weight == 0).float().mean())
        assert zeros >= target - 1.0 / weight.numel(), (layer, zeros)
        assert row["details"]["weight_sparsity"][layer] == pytest.approx(zeros)
    # Zeros compress: the download shrinks although the file on disk does not.
    (student,) = step_rows(report, "distillation")
    assert row["size_bytes"] == pytest.approx(student["size_bytes"], rel=0.01)
    assert row["gzip_bytes"] < 0.8 * student["gzip_bytes"]


def test_the_student_is_smaller_and_within_the_tolerated_drop(lab: Lab) -> None:
    project, report = lab.optimized("size_80")
    x_val, y_val = lab.validation()
    (row,) = step_rows(report, "distillation")
    base = report["baseline"][0]
    assert _float_params(project / row["artifact"]) < _float_params(project / base["artifact"])
    assert (project / row["artifact"]).stat().st_size < (project / base["artifact"]).stat().st_size
    accuracy = {
        r["step"]: float(np.mean(_predict(project / r["artifact"], x_val).argmax(1) == y_val))
        for r in (base, row)
    }
    drop = 100 * (accuracy["baseline"] - accuracy["distillation"])
    assert drop <= SCENARIOS["size_80"][0]["accuracy_drop_tolerance_pct"], accuracy
    assert row["targets"]["accuracy_drop_tolerance_pct"]["met"] is True


def test_the_80_percent_scenario_cuts_at_least_80_percent(lab: Lab) -> None:
    project, report = lab.optimized("size_80")
    cut = final_cut_pct(report, project)
    assert cut >= 80.0
    assert report["final"]["size_cut_pct"] == pytest.approx(cut, abs=0.01)
    assert report["final"]["targets"]["size_reduction_pct"]["met"] is True
    served = [project / p for p in report["serving_artifacts"]]
    assert [p.name for p in served] == ["model.pt"]  # int8: TorchScript only, no torch.export
    assert served[0].read_bytes() == (project / report["final"]["artifact"]).read_bytes()


def test_quantization_aware_training_writes_int8(lab: Lab) -> None:
    project, report = lab.optimized("qat")
    (row,) = step_rows(report, "quantization_aware_training")
    assert row["status"] == "ok" and row["chained"]
    assert _int8_linear_ops(project / row["artifact"])
    assert (project / row["artifact"]).stat().st_size <= 0.35 * row["details"]["input_bytes"]


@no_gpu
def test_tensorrt_is_reported_skipped_with_its_reason(lab: Lab) -> None:
    assert not torch.cuda.is_available()  # nothing may pretend the TensorRT step ran
    project, report = lab.optimized("tensorrt")
    (row,) = step_rows(report, "tensorrt")
    assert row["status"] == "skipped"
    assert "no CUDA GPU" in row["reason"] and "torch_tensorrt" in row["reason"]
    assert row["artifact"] == "" and row["size_bytes"] is None and row["value"] is None
    assert report["final"]["artifact"] is None and report["serving_artifacts"] == []
    assert not (project / "outputs" / "optimized" / "tensorrt.ep").exists()


def test_the_generated_optimize_tests_pass(lab: Lab) -> None:
    lab.run_generated_tests("size_80")


def test_bad_input_exits_2_with_a_message(lab: Lab, tmp_path: Path) -> None:
    project, _ = lab.optimized("mobile")
    teacher = [f"--model_dir={lab.teacher() / 'out' / 'model'}"]
    teacher.append(f"--data={lab.teacher() / 'data' / 'sample.csv'}")
    for flags, expected in [
        ([f"--model_dir={tmp_path}"], "run `make train` first"),
        ([*teacher, "--hidden_units=64"], "pass the model flags `make train` used"),
        ([*teacher, *MODEL_FLAGS, "--sparsity=1.5"], "--sparsity"),
        ([*teacher, f"--data={tmp_path / 'missing.csv'}"], "missing.csv"),
    ]:
        done = run_optimize(project, flags)
        assert done.returncode == 2, done.stderr[-2000:]
        assert expected in done.stderr and "Traceback" not in done.stderr
