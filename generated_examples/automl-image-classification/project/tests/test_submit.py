"""The dry run builds the dataset and training requests with the real SDK, offline."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import submit  # noqa: E402


def dry_run(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    assert submit.main(["--dry-run", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_dry_run_sends_dataset_then_training(capsys: pytest.CaptureFixture[str]) -> None:
    report = dry_run(capsys)
    methods = [r["method"] for r in report["requests"]]
    assert methods[0] == "DatasetService.create_dataset"
    assert "PipelineService.create_training_pipeline" in methods
    pipeline = next(
        r["request"]["training_pipeline"]
        for r in report["requests"]
        if r["method"] == "PipelineService.create_training_pipeline"
    )
    inputs = pipeline["training_task_inputs"]
    low, high = submit.budget_limits()
    budget = int(inputs.get("budgetMilliNodeHours") or inputs.get("trainBudgetMilliNodeHours"))
    assert low <= budget <= high
    if submit.EXPORT_FORMAT:
        assert methods[-1] == "ModelService.export_model"
        assert report["requests"][-1]["request"]["output_config"]["export_format_id"] == (
            submit.EXPORT_FORMAT
        )
