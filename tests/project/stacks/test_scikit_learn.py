"""The scikit-learn stack: generated, trained for real, its own smoke test run, model reloaded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pytest

from tests.helpers.gen import render_to
from tests.helpers.vertex import ruff

# A label column name with quotes, a comma and non-ASCII letters: it reaches Python, CSV and JSON.
LABEL = 'churn "flag", ü'
CLASSIFICATION: dict[str, Any] = {
    "project_name": "sk-classify",
    "task": "tabular_classification",
    "model_family": "other",
    "hyperparameters": 2,
    "all_params_discrete": True,
    "search_points": 9,
    "label_column": LABEL,
}
REGRESSION: dict[str, Any] = {
    "project_name": "sk-regress",
    "task": "tabular_regression",
    "model_family": "linear",
    "hyperparameters": 2,
    "label_column": "price",
}


def run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run with this venv's Python, as `make` would with PYTHON=.venv/bin/python."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "AIP_"))}
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        # One OpenMP thread: the gradient-boosting fits thrash on a small shared machine otherwise.
        env={**environ, "OMP_NUM_THREADS": "1", **env},
    )


@pytest.fixture(scope="module")
def classify(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_to(CLASSIFICATION, tmp_path_factory.mktemp("sk") / "classify")


@pytest.fixture(scope="module")
def regress(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_to(REGRESSION, tmp_path_factory.mktemp("sk") / "regress")


def test_layout_and_contract_files(classify: Path) -> None:
    for rel in [
        "trainer/task.py",
        "trainer/model.py",
        "trainer/data.py",
        "data/sample.csv",
        "trainer/hyperparameters.json",
        "tests/test_smoke.py",
        "Makefile",
        "README.md",
        "requirements.txt",
        ".advisor-answers.yml",
    ]:
        assert (classify / rel).is_file(), rel
    spec = json.loads((classify / "trainer" / "hyperparameters.json").read_text())
    assert spec["metric"] == {"id": "accuracy", "goal": "maximize"}
    assert spec["parameters"] == [
        {"id": "learning_rate", "type": "discrete", "values": [0.03, 0.1, 0.3], "scale": "linear"},
        {"id": "max_iter", "type": "discrete", "values": [50, 100, 200], "scale": "linear"},
    ]
    makefile = (classify / "Makefile").read_text()
    assert "\t$(PYTHON) -m trainer.task $(TRAIN_ARGS)\n" in makefile
    assert "\t@$(PYTHON) submit.py --dry-run\n" in makefile  # @: stdout is only the JSON
    requirements = (classify / "requirements.txt").read_text().splitlines()
    assert all("==" in line for line in requirements if not line.startswith("#"))
    import sklearn

    assert f"scikit-learn=={sklearn.__version__}" in requirements
    readme = (classify / "README.md").read_text()
    assert "HistGradientBoostingClassifier" in readme and "| Decision |" in readme


def test_generated_python_passes_ruff(classify: Path, regress: Path) -> None:
    for project in (classify, regress):
        assert ruff([Path(".")], cwd=project) == "", project


@pytest.mark.slow
def test_classification_trains_with_grid_search_and_the_model_predicts(classify: Path) -> None:
    result = run(["-m", "trainer.task", "--n_jobs", "1"], cwd=classify)  # what `make train` runs
    assert result.returncode == 0, result.stderr
    metrics = json.loads((classify / "outputs" / "metrics.json").read_text())
    assert metrics["estimator"] == "HistGradientBoostingClassifier"
    assert metrics["search"]["kind"] == "grid"
    assert metrics["search"]["candidates"] == 9  # 3 x 3 discrete values
    assert set(metrics["search"]["best_params"]) == {"learning_rate", "max_iter"}
    assert metrics["validation"]["accuracy"] > 0.6  # the sample's label depends on its features
    assert 0.0 <= metrics["validation"]["roc_auc"] <= 1.0
    model = joblib.load(classify / "outputs" / "model" / "model.joblib")
    rows = [[12, 70.5, 4, "month_to_month", "card"], [70, 20.0, 0, "two_year", "check"]]
    assert list(model.predict(rows)) in ([1, 0], [1, 1], [0, 0], [0, 1])
    probabilities = model.predict_proba(rows)
    assert probabilities.shape == (2, 2)
    assert probabilities[0, 1] > probabilities[1, 1]  # short tenure, many calls: likelier churn


@pytest.mark.slow
def test_a_vertex_tuning_trial_fits_its_flags_and_reports_the_metric(
    classify: Path, tmp_path: Path
) -> None:
    metric_file = tmp_path / "hypertune" / "output.metrics"
    result = run(
        [
            "-m",
            "trainer.task",
            "--learning_rate=0.05",
            "--max_iter=60",
            f"--model_dir={tmp_path / 'trial' / 'model'}",
        ],
        cwd=classify,
        CLOUD_ML_TRIAL_ID="7",
        CLOUD_ML_HP_METRIC_FILE=str(metric_file),
    )
    assert result.returncode == 0, result.stderr
    metrics = json.loads((tmp_path / "trial" / "metrics.json").read_text())
    assert metrics["search"] == {"kind": "none"}
    reported = json.loads(metric_file.read_text().splitlines()[-1])
    assert reported["trial"] == "7"
    assert float(reported["accuracy"]) == pytest.approx(metrics["validation"]["accuracy"])
    model = joblib.load(tmp_path / "trial" / "model" / "model.joblib")
    assert model.named_steps["model"].learning_rate == 0.05
    assert model.named_steps["model"].max_iter == 60


@pytest.mark.slow
def test_regression_trains_with_randomized_search(regress: Path) -> None:
    result = run(["-m", "trainer.task", "--n_jobs", "1"], cwd=regress)
    assert result.returncode == 0, result.stderr
    metrics = json.loads((regress / "outputs" / "metrics.json").read_text())
    assert metrics["estimator"] == "Ridge"
    assert metrics["search"]["kind"] == "random"
    assert metrics["validation"]["r2"] > 0.5  # price is nearly linear in the sample's features
    model = joblib.load(regress / "outputs" / "model" / "model.joblib")
    small, large = model.predict([[50.0, 2, 40, "rural", 0], [200.0, 7, 5, "center", 1]])
    assert np.isfinite([small, large]).all() and large > small


@pytest.mark.slow
@pytest.mark.parametrize("which", ["classify", "regress"])
def test_the_generated_smoke_test_passes(which: str, request: pytest.FixtureRequest) -> None:
    project: Path = request.getfixturevalue(which)
    result = run(["-m", "pytest", "-v", "-p", "no:cacheprovider", "tests"], cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr  # every test of the project
    assert "test_smoke.py::test_trains_saves_and_predicts PASSED" in result.stdout
    # the serving path (tests/project/stacks/test_serving_stacks.py relies on this run)
    for name in (
        "test_served_predictions_are_the_trainers",
        "test_serve_local_command_checks_agreement",
    ):
        assert f"test_serving.py::{name} PASSED" in result.stdout, name


@pytest.mark.slow
def test_trains_from_parquet(regress: Path, tmp_path: Path) -> None:
    import pandas as pd

    parquet = tmp_path / "train.parquet"
    pd.read_csv(regress / "data" / "sample.csv").to_parquet(parquet)
    out = tmp_path / "run" / "model"
    result = run(
        ["-m", "trainer.task", f"--data={parquet}", f"--model_dir={out}", "--search", "none"],
        cwd=regress,
    )
    assert result.returncode == 0, result.stderr
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["rows"] == {"train": 240, "validation": 60}
    assert (out / "model.joblib").is_file()


def test_a_missing_label_column_is_reported_by_name(regress: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n3,4\n")
    result = run(["-m", "trainer.task", f"--data={bad}"], cwd=regress)
    assert result.returncode == 2
    assert f"{bad}: no column 'price' (the columns are: 'a', 'b')" in result.stderr
    assert "Traceback" not in result.stderr
