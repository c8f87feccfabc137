"""The BigQuery ML stack: every SQL file parses (sqlglot, BigQuery dialect), the model type
fits the task, user names are quoted where they land, and the runner's dry run builds one
query job per file with the real google-cloud-bigquery client, offline."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from sqlglot import exp

from tests.conftest import run_advisor
from tests.helpers.gen import recommendation_for, render_to
from tests.helpers.vertex import dry_run, project_imports, project_tests

# A label with a backtick, a quote and a space: it must survive as identifier and as string.
TRICKY_LABEL = "it's `the` label"
BASE = {
    "project_name": "churn-bqml",
    "team": "sql_analysts",
    "data_location": "bigquery",
    "gcp_project": "acme-analytics",
    "region": "europe-west2",
    "bucket": "gs://acme-bq-staging",
}
# case -> (answers, model type, ML functions the files must call)
CASES: dict[str, tuple[dict[str, Any], str, set[str]]] = {
    "classification": (
        {"task": "tabular_classification", "label_column": TRICKY_LABEL},
        "LOGISTIC_REG",
        {
            "ML.EVALUATE",
            "ML.CONFUSION_MATRIX",
            "ML.GLOBAL_EXPLAIN",
            "ML.EXPLAIN_PREDICT",
            "ML.PREDICT",
        },
    ),
    "classification-trees": (
        {"task": "tabular_classification", "model_family": "tree_ensemble"},
        "BOOSTED_TREE_CLASSIFIER",
        {
            "ML.EVALUATE",
            "ML.CONFUSION_MATRIX",
            "ML.FEATURE_IMPORTANCE",
            "ML.EXPLAIN_PREDICT",
            "ML.PREDICT",
        },
    ),
    "regression-from-files": (
        {"task": "tabular_regression", "data_location": "cloud_storage", "label_column": "price"},
        "LINEAR_REG",
        {"ML.EVALUATE", "ML.GLOBAL_EXPLAIN", "ML.EXPLAIN_PREDICT", "ML.PREDICT"},
    ),
    "regression-trees": (
        {"task": "tabular_regression", "model_family": "tree_ensemble"},
        "BOOSTED_TREE_REGRESSOR",
        {"ML.EVALUATE", "ML.FEATURE_IMPORTANCE", "ML.EXPLAIN_PREDICT", "ML.PREDICT"},
    ),
    "forecasting": (
        {"task": "time_series_forecasting", "label_column": "daily sales"},
        "ARIMA_PLUS",
        {"ML.ARIMA_EVALUATE", "ML.EXPLAIN_FORECAST", "ML.FORECAST"},
    ),
    "recommendation": (
        {"task": "recommendation"},
        "MATRIX_FACTORIZATION",
        {"ML.EVALUATE", "ML.RECOMMEND"},
    ),
    "classification-dnn": (
        {"task": "tabular_classification", "model_family": "mlp"},
        "DNN_CLASSIFIER",
        {"ML.EVALUATE", "ML.CONFUSION_MATRIX", "ML.GLOBAL_EXPLAIN", "ML.PREDICT"},
    ),
    "clustering-unlabeled": (
        {"task": "tabular_classification", "labeled_examples": 0, "id_columns": "customer_id"},
        "KMEANS",
        {"ML.EVALUATE", "ML.CENTROIDS", "ML.PREDICT", "ML.DETECT_ANOMALIES"},
    ),
}


def sql_parsing(project: Path) -> ModuleType:
    """The generated project's own parser (sqlglot's BigQuery dialect plus the ML functions)."""
    spec = importlib.util.spec_from_file_location(
        f"sql_parsing_{id(project)}", project / "tests" / "sql_parsing.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def options_of(create: exp.Create) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for prop in create.args["properties"].expressions:
        value = prop.args["value"]
        if isinstance(value, exp.Array):
            found[prop.name] = [item.name for item in value.expressions]
        else:
            found[prop.name] = value.name if isinstance(value, exp.Literal) else value.sql()
    return found


@pytest.mark.parametrize("case", CASES)
def test_bqml_project(case: str, tmp_path: Path) -> None:
    answers, model_type, functions = CASES[case]
    answers = BASE | answers
    rec = recommendation_for(answers)
    assert rec.choice("service") == "bigquery_ml"
    project = render_to(answers, tmp_path / "p")
    parser = sql_parsing(project)
    files = sorted((project / "sql").glob("*.sql"))
    statements = {p.name: parser.parse(p.read_text()) for p in files}
    assert all(len(s) == 1 for s in statements.values())  # one statement per file
    every = [s[0] for s in statements.values()]
    assert functions <= parser.ml_functions(every)

    label = rec.answers["label_column"]
    model = f"{answers['gcp_project']}.churn_bqml.model"
    source = f"{answers['gcp_project']}.churn_bqml.training_data"
    (create,) = statements["02_create_model.sql"]
    assert isinstance(create, exp.Create) and create.args["kind"] == "MODEL"
    assert ".".join(p.name for p in create.this.parts) == model
    options = options_of(create)
    assert options["model_type"] == model_type
    if model_type == "ARIMA_PLUS":
        assert options["time_series_data_col"] == label
    elif model_type == "MATRIX_FACTORIZATION":
        assert {"user_col", "item_col", "rating_col"} <= set(options)
    elif model_type == "KMEANS":
        assert "input_label_cols" not in options
    else:
        assert options["input_label_cols"] == [label]
        # The label never becomes a feature of the prediction rows.
        for name in ("06_explain_predict.sql", "07_predict.sql"):
            stars = [s for s in statements[name][0].find_all(exp.Star) if s.args.get("except_")]
            assert [c.name for c in stars[0].args["except_"]] == [label]
    tables = {
        ".".join(p.name for p in t.parts) for s in every for t in s.find_all(exp.Table) if t.parts
    }
    assert source in tables
    loads = "01_load.sql" in statements
    assert loads == (answers["data_location"] != "bigquery")
    if loads:
        (load,) = statements["01_load.sql"]
        assert load.sql("bigquery").startswith("LOAD DATA OVERWRITE")
        assert answers["bucket"] in load.sql("bigquery")

    report = dry_run(project, "run")
    assert report["location"] == answers["region"]
    assert [j["file"] for j in report["jobs"]] == [f"sql/{p.name}" for p in files]
    for job, path in zip(report["jobs"], files, strict=True):
        assert (job["method"], job["path"]) == ("POST", f"/projects/{answers['gcp_project']}/jobs")
        assert job["body"]["jobReference"]["location"] == answers["region"]
        assert job["body"]["configuration"]["query"] == {
            "useLegacySql": False,
            "query": path.read_text(),
        }
    readme = (project / "README.md").read_text()
    assert model_type in readme and "| Decision | Choice |" in readme
    decision = rec.decisions["bqml_model"]
    assert decision["model_type"] == model_type and decision["evaluate"] in functions


@pytest.mark.parametrize("task", ["tabular_classification", "tabular_regression"])
def test_named_id_columns_are_not_features(task: str, tmp_path: Path) -> None:
    answers = BASE | {"task": task, "id_columns": "customer_id, row_id", "label_column": "y"}
    project = render_to(answers, tmp_path / "p")
    parser = sql_parsing(project)
    (create,) = parser.parse((project / "sql" / "02_create_model.sql").read_text())
    (query,) = [s for s in create.find_all(exp.Star) if s.args.get("except_")]
    assert [c.name for c in query.args["except_"]] == ["customer_id", "row_id"]
    # ML.PREDICT keeps them, so each prediction joins back to its row.
    (predict,) = parser.parse((project / "sql" / "07_predict.sql").read_text())
    stars = [s for s in predict.find_all(exp.Star) if s.args.get("except_")]
    assert [c.name for c in stars[0].args["except_"]] == ["y"]
    assert project_tests(project) == ""


def test_id_columns_other_than_plain_names_exit_2(tmp_path: Path) -> None:
    answers = BASE | {"task": "tabular_classification", "id_columns": "id; DROP TABLE x"}
    path = tmp_path / "answers.yml"
    path.write_text(yaml.safe_dump(answers))
    result = run_advisor("recommend", "--answers", str(path))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "answers.yml" in result.stderr and "id_columns" in result.stderr
    assert "letters, digits and underscores" in result.stderr


def test_the_load_step_uses_gcloud_storage(tmp_path: Path) -> None:
    answers = BASE | {"task": "tabular_regression", "data_location": "cloud_storage"}
    project = render_to(answers, tmp_path / "p")
    texts = [(project / "sql" / "01_load.sql").read_text(), (project / "README.md").read_text()]
    assert all("gcloud storage cp" in text and "gsutil" not in text for text in texts)


def test_generated_project_tests_pass_offline(tmp_path: Path) -> None:
    project = render_to(BASE | CASES["classification"][0], tmp_path / "p")
    assert project_tests(project) == ""


def test_the_parser_rejects_broken_sql(tmp_path: Path) -> None:
    """The check can fail: a CREATE MODEL with a missing parenthesis does not parse."""
    import sqlglot

    project = render_to(BASE | CASES["classification"][0], tmp_path / "p")
    parser = sql_parsing(project)
    broken = (project / "sql" / "02_create_model.sql").read_text().replace(") AS", " AS")
    with pytest.raises(sqlglot.ParseError):
        parser.parse(broken)


def test_a_real_run_sends_the_dry_run_request(tmp_path: Path) -> None:
    """`python run.py` without --dry-run (default credentials stubbed, the POST stopped at the
    client's connection): the first job is the dry run's."""
    from unittest import mock

    import google.auth
    import google.auth.credentials

    project = render_to(BASE | CASES["classification"][0], tmp_path / "p")
    expected = dry_run(project, "run")["jobs"][0]
    anonymous = google.auth.credentials.AnonymousCredentials()
    with (
        project_imports(project),
        mock.patch.object(google.auth, "default", return_value=(anonymous, "acme-analytics")),
    ):
        import run  # type: ignore[import-not-found]

        with run.recording() as requests, pytest.raises(run.RequestCaptured):
            run.main([])
    (sent,) = requests
    assert sent["body"]["configuration"] == expected["body"]["configuration"]
    assert sent["path"] == expected["path"]
