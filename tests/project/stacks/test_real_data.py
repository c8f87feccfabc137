"""Every tabular stack on real data, through the one data interface of trainer/table.py.

The data is scikit-learn's breast cancer set (569 rows, 30 features), written to CSV by the test
with the label column `outcome` (named in the answers file, never on the command line) and an ID
column `patient_id` (left out with --id_columns). Each stack trains with its defaults and must
land within 3 points of a standardised logistic regression on the same split. Bad tables (a
missing column, no rows, one class, a column of mixed numbers and text) stop every trainer with
exit code 2 and a message that names the file and the column.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.helpers.gen import render_to, trainer_run
from tests.helpers.real_tables import breast_cancer

pytestmark = pytest.mark.slow

LABEL = "outcome"
STACKS: dict[str, dict[str, Any]] = {
    "scikit_learn": {"framework": "scikit_learn", "model_family": "other"},
    "xgboost": {"framework": "xgboost"},
    "pytorch": {"framework": "pytorch", "model_parameters": 500_000},
    "tensorflow": {"framework": "tensorflow", "model_parameters": 500_000},
}
# Flags that keep a run small on a shared machine (the defaults otherwise).
FAST: dict[str, list[str]] = {
    "scikit_learn": ["--n_jobs=1"],
    "xgboost": ["--nthread=1"],
    "pytorch": ["--device=cpu"],
    "tensorflow": [],
}
SEED = 42  # the shared split's seed (trainer/table.py)


def baseline_accuracy(frame: pd.DataFrame, fraction: float = 0.2) -> float:
    """A standardised logistic regression on the trainers' own split (same seed, same rows)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    y = frame[LABEL]
    x = frame.drop(columns=[LABEL, "patient_id"])
    order = np.random.default_rng(SEED).permutation(len(frame))
    n_val = round(len(frame) * fraction)
    train, val = np.sort(order[n_val:]), np.sort(order[:n_val])
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    model.fit(x.iloc[train], y.iloc[train])
    return float(model.score(x.iloc[val], y.iloc[val]))


def run_trainer(
    project: Path, *args: str, out: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """One run, with outputs in `out` (PyTorch resumes from the checkpoints of an earlier run in
    the same folder, so runs on differently shaped data each get their own)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIP_", "CLOUD_ML_"))}
    env |= {"OMP_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
    out = out or project / "out"
    return subprocess.run(
        trainer_run(out, f"--metrics_path={out / 'metrics.json'}", *args),
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )


@pytest.fixture(scope="module", params=list(STACKS))
def project(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    answers = {
        "project_name": f"real-{request.param.replace('_', '-')}",
        "task": "tabular_classification",
        "label_column": LABEL,
        **STACKS[request.param],
    }
    dest = render_to(answers, tmp_path_factory.mktemp("real") / request.param)
    (dest / ".stack").write_text(request.param)
    return dest


@pytest.fixture(scope="module")
def cancer_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "breast_cancer.csv"
    breast_cancer().to_csv(path, index=False)
    return path


def stack_of(project: Path) -> str:
    return (project / ".stack").read_text()


def accuracy(metrics: dict[str, Any]) -> float:
    """Validation accuracy, wherever the stack's metrics.json keeps it."""
    return float(metrics.get("validation", metrics)["accuracy"])


def test_trains_on_breast_cancer_within_3_points_of_logistic_regression(
    project: Path, cancer_csv: Path
) -> None:
    result = run_trainer(
        project, f"--data={cancer_csv}", "--id_columns=patient_id", *FAST[stack_of(project)]
    )
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((project / "out" / "metrics.json").read_text())
    floor = baseline_accuracy(breast_cancer()) - 0.03
    assert accuracy(metrics) >= floor, (stack_of(project), accuracy(metrics), floor)
    assert (project / "out" / "model").is_dir()


def test_split_column_decides_the_validation_rows(
    project: Path, cancer_csv: Path, tmp_path: Path
) -> None:
    frame = breast_cancer()
    frame["part"] = np.where(np.arange(len(frame)) % 4 == 0, "validation", "train")
    path = tmp_path / "with_split.csv"
    frame.to_csv(path, index=False)
    result = run_trainer(
        project,
        f"--data={path}",
        "--id_columns=patient_id",
        "--split_column=part",
        *FAST[stack_of(project)],
        out=tmp_path / "out",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    counted = (
        metrics.get("rows") or metrics.get("examples") or {"validation": metrics["val_examples"]}
    )
    assert counted["validation"] == int((frame["part"] == "validation").sum())
    assert accuracy(metrics) >= 0.9


def bad_tables() -> dict[str, tuple[pd.DataFrame, list[str], list[str]]]:
    """name -> (table, extra flags, words the message must hold)."""
    good = breast_cancer().drop(columns=["patient_id"]).head(120)
    mixed = good.copy()
    mixed["mean radius"] = mixed["mean radius"].astype(object)
    mixed.loc[5, "mean radius"] = "n/a (lost)"
    return {
        "missing_label": (
            good.rename(columns={LABEL: "diagnosis"}),
            [],
            ["'outcome'", "diagnosis"],
        ),
        "missing_id": (good, ["--id_columns=patient_id"], ["'patient_id'", "mean radius"]),
        "empty": (good.head(0), [], ["no rows", "outcome"]),
        "one_class": (good.assign(**{LABEL: 1}), [], ["'outcome'", "one class"]),
        "mixed_types": (mixed, [], ["'mean radius'", "n/a (lost)", "--schema"]),
    }


@pytest.mark.parametrize("case", list(bad_tables()))
def test_bad_table_exits_2_naming_file_and_column(project: Path, tmp_path: Path, case: str) -> None:
    frame, flags, words = bad_tables()[case]
    path = tmp_path / f"{case}.csv"
    frame.to_csv(path, index=False)
    result = run_trainer(project, f"--data={path}", *flags, *FAST[stack_of(project)])
    assert result.returncode == 2, (result.returncode, result.stderr[-3000:])
    assert "Traceback" not in result.stderr
    for word in [str(path), *words]:
        assert word in result.stderr, (word, result.stderr[-2000:])


def test_schema_fixes_how_a_column_is_read(project: Path, tmp_path: Path) -> None:
    frame, _, _ = bad_tables()["mixed_types"]
    path = tmp_path / "mixed.csv"
    frame.to_csv(path, index=False)
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({"mean radius": "numeric", "worst area": "ignore"}))
    result = run_trainer(
        project, f"--data={path}", f"--schema={schema}", *FAST[stack_of(project)], out=tmp_path
    )
    assert result.returncode == 0, result.stderr[-3000:]
    bad = tmp_path / "bad_schema.json"
    bad.write_text(json.dumps({"mean radius": "float"}))
    result = run_trainer(project, f"--data={path}", f"--schema={bad}", *FAST[stack_of(project)])
    assert result.returncode == 2, result.stderr[-3000:]
    assert str(bad) in result.stderr and "'mean radius'" in result.stderr
    assert "numeric, categorical, ignore" in result.stderr


def test_answers_id_columns_are_left_out_without_a_flag(cancer_csv: Path, tmp_path: Path) -> None:
    import joblib

    answers = {
        "project_name": "real-ids",
        "task": "tabular_classification",
        "label_column": LABEL,
        "id_columns": "patient_id",
        **STACKS["scikit_learn"],
    }
    project = render_to(answers, tmp_path / "ids")
    result = run_trainer(project, f"--data={cancer_csv}", *FAST["scikit_learn"])
    assert result.returncode == 0, result.stderr[-3000:]
    estimator = joblib.load(project / "out" / "model" / "model.joblib")
    assert estimator.n_features_in_ == 30  # the 30 measurements, not the patient number
    help_text = run_trainer(project, "--help").stdout
    assert "--id_columns" in help_text and "--split_column" in help_text
