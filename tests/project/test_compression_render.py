"""The optimize templates render only when compression is chosen, carry the decision's steps and
the answers' targets, and generate clean Python (fast: nothing trains here)."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import black
import pytest

from tests.helpers.gen import recommendation_for, render_to

OPTIMIZE_FILES = {
    "tensorflow": [
        "trainer/optimize.py",
        "trainer/optimize_keras.py",
        "trainer/optimize_report.py",
        "trainer/optimize_tflite.py",
        "trainer/optimize_tfmot.py",
        "tests/test_optimize.py",
    ],
    "pytorch": [
        "trainer/optimize.py",
        "trainer/optimize_distill.py",
        "trainer/optimize_prune.py",
        "trainer/optimize_quant.py",
        "trainer/optimize_report.py",
        "trainer/optimize_torch.py",
        "tests/test_optimize.py",
    ],
}
OPTIMIZE_FILES["pytorch_lightning"] = OPTIMIZE_FILES["pytorch"]  # the shared _torch/optimize/
# answers -> the steps the engine chooses (the same for both frameworks)
CASES: list[tuple[dict[str, Any], list[str]]] = [
    ({"deployment_target": "edge", "size_reduction_pct": 80},
     ["distillation", "pruning", "post_training_quantization"]),
    ({"deployment_target": "edge"}, ["pruning", "post_training_quantization"]),
    ({"optimization_goal": "cost"}, ["distillation"]),
    ({"optimization_goal": "download_size"}, ["pruning"]),
    ({"size_reduction_pct": 60, "accuracy_drop_tolerance_pct": 0.5},
     ["quantization_aware_training"]),
    ({"latency_budget_ms": 10.0}, ["post_training_quantization"]),
    ({"inference_hardware": "nvidia_gpu", "latency_budget_ms": 20.0}, ["tensorrt"]),
    ({"already_quantized": True, "size_reduction_pct": 50}, ["distillation"]),
]  # fmt: skip
RUFF = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")


def answers(framework: str, **extra: Any) -> dict[str, Any]:
    return {
        "project_name": "demo",
        "task": "tabular_classification",
        "framework": framework,
        **extra,
    }


def constants(path: Path) -> dict[str, Any]:
    """The module-level constants of a generated file (literals and Targets(...) keywords)."""
    out: dict[str, Any] = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if isinstance(node.value, ast.Call):
                out[name] = {k.arg: ast.literal_eval(k.value) for k in node.value.keywords}
            else:
                try:
                    out[name] = ast.literal_eval(node.value)
                except ValueError:
                    continue
    return out


@pytest.mark.parametrize("framework", ["tensorflow", "pytorch", "pytorch_lightning"])
@pytest.mark.parametrize("extra", [{}, {"deployment_target": "batch"}])
def test_no_compression_renders_no_optimize_step(
    tmp_path: Path, framework: str, extra: dict
) -> None:
    rec = recommendation_for(answers(framework, **extra))
    assert rec.decisions["compression"]["choice"] == "none"
    project = render_to(answers(framework, **extra), tmp_path)
    for name in OPTIMIZE_FILES[framework]:
        assert not (project / name).exists(), name
    assert "optimize" not in (project / "Makefile").read_text()


@pytest.mark.parametrize("framework", ["tensorflow", "pytorch", "pytorch_lightning"])
@pytest.mark.parametrize(("extra", "steps"), CASES)
def test_the_steps_and_targets_are_rendered(
    tmp_path: Path, framework: str, extra: dict, steps: list[str]
) -> None:
    given = answers(framework, **extra)
    assert recommendation_for(given).decisions["compression"]["steps"] == steps
    project = render_to(given, tmp_path)
    for name in OPTIMIZE_FILES[framework]:
        assert (project / name).is_file(), name
    values = constants(project / "trainer" / "optimize.py")
    assert values["STEPS"] == steps
    targets = values["TARGETS"]
    validated = recommendation_for(given).answers
    assert targets["size_reduction_pct"] == validated["size_reduction_pct"]
    assert targets["latency_budget_ms"] == validated["latency_budget_ms"]
    assert targets["accuracy_drop_tolerance_pct"] == validated["accuracy_drop_tolerance_pct"]
    assert targets["size_basis"] == (
        "gzip" if extra.get("optimization_goal") == "download_size" else "disk"
    )
    assert values["FULL_INT8_REQUIRED"] == (extra.get("deployment_target") == "edge")
    width = values["DEFAULT_STUDENT_WIDTH"]
    if steps == ["distillation"] and validated["size_reduction_pct"]:
        # parameters ~ width^2: room under the size target
        assert width**2 < 1 - validated["size_reduction_pct"] / 100
    else:
        assert width == 0.5
    assert "$(PYTHON) -m trainer.optimize" in (project / "Makefile").read_text()


@pytest.mark.parametrize("framework", ["tensorflow", "pytorch", "pytorch_lightning"])
def test_generated_optimize_code_is_clean(tmp_path: Path, framework: str) -> None:
    project = render_to(
        answers(framework, deployment_target="edge", size_reduction_pct=80), tmp_path
    )
    mode = black.Mode(line_length=100)
    for name in OPTIMIZE_FILES[framework]:
        text = (project / name).read_text()
        assert "{{" not in text and "{%" not in text, name
        assert black.format_str(text, mode=mode) == text, f"{name} is not black-formatted"
    result = subprocess.run(
        [RUFF, "check", "--no-cache", "--line-length=100", "--select=E,F,W,I,B,UP,SIM",
         *OPTIMIZE_FILES[framework]],
        cwd=project,
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout


def test_both_stacks_report_the_same_way(tmp_path: Path) -> None:
    """optimize_report.py is the same module in both stacks, so reports compare across them."""
    texts = [
        (render_to(answers(fw, optimization_goal="cost"), tmp_path / fw) / "trainer")
        .joinpath("optimize_report.py")
        .read_text()
        for fw in ("tensorflow", "pytorch")
    ]
    assert texts[0] == texts[1]


# answers -> (the quantization the engine asks for, the variant each stack tries first)
QUANTIZATION_CASES: list[tuple[dict[str, Any], str, dict[str, str]]] = [
    ({"inference_hardware": "nvidia_gpu", "size_reduction_pct": 40}, "float16",
     {"tensorflow": "float16", "pytorch": "float16"}),
    ({"inference_hardware": "nvidia_gpu", "size_reduction_pct": 80}, "float16",
     {"tensorflow": "float16", "pytorch": "float16"}),
    ({"optimization_goal": "cost", "can_retrain": False}, "dynamic_range",
     {"tensorflow": "dynamic_range", "pytorch": "dynamic_int8"}),
    ({"size_reduction_pct": 60}, "", {"tensorflow": "int8", "pytorch": "static_int8"}),
    ({"deployment_target": "edge", "inference_hardware": "edge_tpu"}, "full_int8",
     {"tensorflow": "int8", "pytorch": "static_int8"}),
]  # fmt: skip


@pytest.mark.parametrize("framework", ["tensorflow", "pytorch"])
@pytest.mark.parametrize(("extra", "quantization", "first"), QUANTIZATION_CASES)
def test_the_recommended_quantization_is_tried_first(
    tmp_path: Path, framework: str, extra: dict, quantization: str, first: dict[str, str]
) -> None:
    given = answers(framework, **extra)
    decision = recommendation_for(given).decisions["compression"]
    assert decision.get("quantization", "") == quantization
    values = constants(render_to(given, tmp_path) / "trainer" / "optimize.py")
    assert values["QUANTIZATION"] == quantization
    assert values["PTQ_PREFERENCE"][0] == first[framework]
    assert values["FULL_INT8_REQUIRED"] == (quantization == "full_int8" or "edge" in str(extra))
