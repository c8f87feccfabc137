"""A PyTorch Lightning project with compression gets the same optimize step as plain PyTorch
(the shared common/_torch/optimize/ templates), and it runs on what the Lightning trainer saves."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.gen import render_to


@pytest.mark.slow
def test_lightning_project_trains_then_optimizes(tmp_path: Path) -> None:
    answers = {
        "project_name": "lit-compress",
        "task": "tabular_classification",
        "framework": "pytorch_lightning",
        "model_family": "mlp",
        "size_reduction_pct": 50,
    }
    project = render_to(answers, tmp_path / "project")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for command in (
        [sys.executable, "data/make_sample.py"],
        [sys.executable, "-m", "trainer.task", "--epochs", "2"],
        [sys.executable, "-m", "trainer.optimize"],
    ):
        result = subprocess.run(
            command, cwd=project, capture_output=True, text=True, env=env, timeout=600
        )
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    report = json.loads((project / "compression_report.json").read_text())
    assert report["steps_chosen"] == ["post_training_quantization"]
    shipped = [project / path for path in report["serving_artifacts"]]
    assert shipped and all(path.is_file() for path in shipped)
    import torch

    model = torch.jit.load(str(shipped[0]))
    assert all(step["status"] == "ok" for step in report["steps"]), report["steps"]
    features = json.loads((project / "outputs" / "model" / "preprocessing.json").read_text())
    out = model(torch.zeros(3, features["input_dim"]))
    assert tuple(out.shape) == (3, features["num_classes"])
