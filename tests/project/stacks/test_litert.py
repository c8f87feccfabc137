"""The LiteRT conversion of the PyTorch stacks for phones and edge devices: which projects get
`on_device/` and `make litert`, and a phone project's own conversion tests, run in .venv-litert
(AI Edge Torch and the LiteRT interpreter, made by `make litert-venv`): train briefly, convert to
.tflite, and hold the interpreter's outputs to torch's."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.compression import ROOT_ANSWERS, run_env
from tests.helpers.gen import recommendation_for, render_to

REPO = Path(__file__).resolve().parents[3]
LITERT_PYTHON = REPO / ".venv-litert" / "bin" / "python"
ON_DEVICE = {"on_device/__init__.py", "on_device/convert.py", "on_device/requirements.txt"}
ON_DEVICE |= {"on_device/test_litert.py"}

# name -> (answers beyond ROOT_ANSWERS, whether the project converts to LiteRT, and to int8)
CASES: dict[str, tuple[dict[str, Any], bool, bool]] = {
    "pytorch_mobile": ({"framework": "pytorch", "deployment_target": "mobile"}, True, True),
    "lightning_mobile": (
        {"framework": "pytorch_lightning", "deployment_target": "mobile"},
        True,
        True,
    ),
    "pytorch_edge": ({"framework": "pytorch", "deployment_target": "edge"}, True, True),
    # AI Edge Torch's int8 leaves the LSTM float: no int8 file, and the README says why
    "lstm_mobile": (
        {"framework": "pytorch", "deployment_target": "mobile", "task": "time_series_forecasting"},
        True,
        False,
    ),
    "pytorch_cloud_qat": (
        {"framework": "pytorch", "size_reduction_pct": 60, "accuracy_drop_tolerance_pct": 0.5},
        False,
        False,
    ),
    "pytorch_nvidia": (
        {"framework": "pytorch", "inference_hardware": "nvidia_gpu", "latency_budget_ms": 20.0},
        False,
        False,
    ),
}


def _files(project: Path) -> set[str]:
    return {str(p.relative_to(project)) for p in project.rglob("*") if p.is_file()}


@pytest.mark.parametrize("name", list(CASES))
def test_only_phone_and_edge_projects_convert_to_litert(tmp_path: Path, name: str) -> None:
    extra, converts, int8 = CASES[name]
    answers = {**ROOT_ANSWERS, **extra}
    assert recommendation_for(answers).decisions["compression"]["choice"] != "none"
    project = render_to(answers, tmp_path / name)
    makefile, readme = (project / "Makefile").read_text(), (project / "README.md").read_text()
    assert (project / "trainer" / "optimize.py").exists()  # all of them compress in torch
    if not converts:
        assert not ON_DEVICE & _files(project)
        assert "litert" not in makefile and "LiteRT" not in readme
        return
    assert _files(project) >= ON_DEVICE
    assert "\nlitert: $(LITERT_VENV)/.installed\n" in makefile
    assert "-m on_device.convert" in makefile and "-m pytest -q on_device" in makefile
    assert "make litert" in readme and "`litert-torch`" in readme
    convert = (project / "on_device" / "convert.py").read_text()
    assert f"INT8 = {int8}" in convert
    assert "PT2EQuantizer" in readme
    assert ("The recommendation asks for int8 (`" in readme) == int8
    assert ("leaves the LSTM in float32" in readme) == (
        extra.get("task") == "time_series_forecasting"
    )
    requirements = (project / "on_device" / "requirements.txt").read_text()
    assert ("lightning==" in requirements) == (extra["framework"] == "pytorch_lightning")
    # The conversion's packages stay out of the training and serving images.
    assert "litert" not in (project / "requirements.txt").read_text()


def _pins(text: str) -> dict[str, str]:
    lines = (line.strip() for line in text.splitlines())
    return dict(line.split("==") for line in lines if line and not line.startswith("#"))


def test_the_litert_venv_has_the_generated_pins(tmp_path: Path) -> None:
    """.venv-litert runs what a phone project's on_device/requirements.txt pins; the shared
    packages carry the project's requirements.txt pins."""
    assert LITERT_PYTHON.exists(), "no .venv-litert: run `make litert-venv` (make test does)"
    project = render_to({**ROOT_ANSWERS, **CASES["pytorch_mobile"][0]}, tmp_path / "phone")
    pins = _pins((project / "on_device" / "requirements.txt").read_text())
    main = _pins((project / "requirements.txt").read_text())
    for package in pins.keys() & main.keys():
        assert pins[package] == main[package], package
    code = "import json, sys; from importlib.metadata import version as v; "
    code += "print(json.dumps({p: v(p) for p in sys.argv[1:]}))"
    done = subprocess.run(
        [str(LITERT_PYTHON), "-c", code, *pins], capture_output=True, text=True, check=True
    )
    installed = json.loads(done.stdout)
    # the CPU build of torch carries a local version tag (2.13.0+cpu)
    assert {p: version.split("+")[0] for p, version in installed.items()} == pins


@pytest.mark.slow
def test_a_phone_project_converts_and_litert_predicts_what_torch_predicts(
    tmp_path: Path,
) -> None:
    assert LITERT_PYTHON.exists(), "no .venv-litert: run `make litert-venv` (make test does)"
    project = render_to({**ROOT_ANSWERS, **CASES["pytorch_mobile"][0]}, tmp_path / "phone")
    command = [str(LITERT_PYTHON), "-m", "pytest", "-v", "-p", "no:cacheprovider", "on_device"]
    done = subprocess.run(
        command, cwd=project, env=run_env(), capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    for test in (
        "test_the_float_file_predicts_what_torch_predicts",
        "test_the_int8_file_is_smaller_and_close_to_torch",
        "test_the_report_matches_the_files",
        "test_without_a_trained_model_it_exits_2",
    ):
        assert f"on_device/test_litert.py::{test} PASSED" in done.stdout, test
