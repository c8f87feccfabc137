"""The AutoML stack: dataset and training requests built by the real SDK offline, inside the
API's limits (vertex-facts section 1), and the shut-down AutoML products never generated."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any

import pytest

from advisor.project.render import render_project
from tests.helpers.gen import recommendation_for, render_to
from tests.helpers.vertex import dry_run, project_imports, project_tests, run_main

# The API's limits and values, from shared/vertex-facts.md section 1 (not from the templates).
BUDGETS = {
    ("tabular", "classification"): (1_000, 72_000),
    ("tabular", "regression"): (1_000, 72_000),
    ("tabular", "forecasting"): (1_000, 72_000),
    ("image", "classification"): (8_000, 800_000),
    # MOBILE_TF_* models: 1,000 to 100,000 for classification and detection alike (SDK 2.7.0
    # schema docstrings, automl_image_classification.py and automl_image_object_detection.py)
    ("image", "classification", "edge"): (1_000, 100_000),
    ("image", "object_detection"): (20_000, 900_000),
    ("image", "object_detection", "edge"): (1_000, 100_000),
}
OBJECTIVES = {
    "classification": {
        "maximize-au-roc",
        "minimize-log-loss",
        "maximize-au-prc",
        "maximize-precision-at-recall",
        "maximize-recall-at-precision",
    },
    "regression": {"minimize-rmse", "minimize-mae", "minimize-rmsle"},
    "forecasting": {
        "minimize-rmse",
        "minimize-mae",
        "minimize-rmsle",
        "minimize-rmspe",
        "minimize-wape-mae",
        "minimize-quantile-loss",
    },
}
MOBILE = {"MOBILE_TF_LOW_LATENCY_1", "MOBILE_TF_VERSATILE_1", "MOBILE_TF_HIGH_ACCURACY_1"}
MODEL_TYPES = {
    "classification": {"CLOUD", "CLOUD_1", *MOBILE, "EFFICIENTNET", "MAXVIT", "VIT", "COCA"},
    "object_detection": {
        "CLOUD_1",
        "CLOUD_HIGH_ACCURACY_1",
        "CLOUD_LOW_LATENCY_1",
        *MOBILE,
        "SPINENET",
        "YOLO",
    },
}
EXPORT_FORMATS = {"tflite", "edgetpu-tflite", "tf-saved-model", "core-ml", "tf-js"}
SCHEMA = "gs://google-cloud-aiplatform/schema"
DATASET_SCHEMAS = {
    "classification": f"{SCHEMA}/dataset/metadata/tabular_1.0.0.yaml",
    "regression": f"{SCHEMA}/dataset/metadata/tabular_1.0.0.yaml",
    "forecasting": f"{SCHEMA}/dataset/metadata/time_series_1.0.0.yaml",
}
TRAINING_DEFINITIONS = {
    ("tabular", "classification"): "automl_tabular",
    ("tabular", "regression"): "automl_tabular",
    ("tabular", "forecasting"): "automl_time_series_forecasting",
    ("image", "classification"): "automl_image_classification",
    ("image", "object_detection"): "automl_image_object_detection",
}
IMPORT_SCHEMAS = {
    "classification": f"{SCHEMA}/dataset/ioformat/"
    "image_classification_single_label_io_format_1.0.0.yaml",
    "object_detection": f"{SCHEMA}/dataset/ioformat/image_bounding_box_io_format_1.0.0.yaml",
}
BASE = {
    "project_name": "shop-automl",
    "team": "no_ml_expertise",
    "gcp_project": "acme-ml",
    "region": "us-central1",
    "bucket": "gs://acme-ml-data",
}
CASES = {
    "tabular-classification": {"task": "tabular_classification", "label_column": "churned"},
    "tabular-regression-bq": {
        "task": "tabular_regression",
        "data_location": "bigquery",
        "label_column": "price usd",
    },
    "forecasting": {"task": "time_series_forecasting", "label_column": "sales"},
    "tabular-budget-clamped": {"task": "tabular_classification", "automl_budget_request": 100_000},
    "image-cloud": {"task": "image_classification"},
    "image-cloud-budget": {"task": "image_classification", "automl_budget_request": 50_000},
    "image-mobile": {"task": "image_classification", "deployment_target": "mobile"},
    "image-edge-tpu": {
        "task": "image_classification",
        "deployment_target": "edge",
        "inference_hardware": "edge_tpu",
    },
    "image-browser": {"task": "image_classification", "deployment_target": "browser"},
    "detection-cloud": {"task": "object_detection"},
    "detection-edge": {"task": "object_detection", "deployment_target": "edge"},
}


def generate(case: str, tmp_path: Path) -> tuple[Any, Path]:
    answers = BASE | CASES[case]
    rec = recommendation_for(answers)
    assert rec.choice("service") == "automl"
    return rec, render_to(answers, tmp_path / case)


@pytest.mark.parametrize("case", CASES)
def test_automl_requests_match_the_recommendation(case: str, tmp_path: Path) -> None:
    rec, project = generate(case, tmp_path)
    automl, answers = rec.decisions["automl"], rec.answers
    product, kind = automl["product"], automl["prediction_type"]
    report = dry_run(project)
    methods = [r["method"] for r in report["requests"]]
    edge = (automl.get("model_type") or "").startswith("MOBILE_")
    assert methods == (
        ["DatasetService.create_dataset"]
        + (["DatasetService.import_data"] if product == "image" else [])
        + ["PipelineService.create_training_pipeline"]
        + (["ModelService.export_model"] if edge else [])
    )
    requests = {r["method"]: r["request"] for r in report["requests"]}
    dataset = requests["DatasetService.create_dataset"]["dataset"]
    pipeline = requests["PipelineService.create_training_pipeline"]["training_pipeline"]
    inputs = pipeline["training_task_inputs"]
    definition = TRAINING_DEFINITIONS[(product, kind)]
    assert (
        pipeline["training_task_definition"]
        == f"{SCHEMA}/trainingjob/definition/{definition}_1.0.0.yaml"
    )

    budget = inputs.get("trainBudgetMilliNodeHours") or inputs.get("budgetMilliNodeHours")
    low, high = (
        BUDGETS.get((product, kind, "edge") if edge else (product, kind))
        or BUDGETS[(product, kind)]
    )
    assert low <= budget <= high
    assert budget == automl["budget_milli_node_hours"]
    if answers["automl_budget_request"]:
        assert budget == min(max(answers["automl_budget_request"], low), high)

    if product == "tabular":
        assert dataset["metadata_schema_uri"] == DATASET_SCHEMAS[kind]
        source = dataset["metadata"]["inputConfig"]
        if answers["data_location"] == "bigquery":
            assert source["bigquerySource"]["uri"].startswith(f"bq://{answers['gcp_project']}.")
        else:
            assert source["gcsSource"]["uri"][0].startswith(answers["bucket"] + "/")
        assert inputs["targetColumn"] == answers["label_column"]
        assert inputs["optimizationObjective"] in OBJECTIVES[kind]
        features = [next(iter(t.values()))["column_name"] for t in inputs["transformations"]]
        assert answers["label_column"] not in features and features
        if kind == "forecasting":
            assert (
                inputs["timeColumn"] in features
                and {"timestamp": {"column_name": inputs["timeColumn"]}}
                in inputs["transformations"]
            )
            assert inputs["unavailableAtForecastColumns"] == [answers["label_column"]]
            assert inputs["forecastHorizon"] > 0
        else:
            assert inputs["predictionType"] == kind
    else:
        assert dataset["metadata_schema_uri"] == f"{SCHEMA}/dataset/metadata/image_1.0.0.yaml"
        (config,) = requests["DatasetService.import_data"]["import_configs"]
        assert config["import_schema_uri"] == IMPORT_SCHEMAS[kind]
        assert config["gcs_source"]["uris"][0].startswith(answers["bucket"] + "/")
        assert inputs["modelType"] == automl["model_type"]
        assert inputs["modelType"] in MODEL_TYPES[kind]
    if edge:
        output = requests["ModelService.export_model"]["output_config"]
        assert output["export_format_id"] == automl["export_format"]
        assert output["export_format_id"] in EXPORT_FORMATS
        expected = {"edge_tpu": "edgetpu-tflite"}.get(answers["inference_hardware"]) or (
            "tf-js" if answers["deployment_target"] == "browser" else "tflite"
        )
        assert output["export_format_id"] == expected
        assert output["artifact_destination"]["output_uri_prefix"].startswith(answers["bucket"])


def test_columns_and_objectives_from_the_flags(tmp_path: Path) -> None:
    _, project = generate("tabular-classification", tmp_path)
    report = dry_run(
        project,
        "submit",
        "--columns",
        "customer_id,age:numeric,plan:categorical,churned",
        "--exclude",
        "customer_id",
        "--objective",
        "maximize-precision-at-recall",
        "--objective-value",
        "0.8",
    )
    inputs = report["requests"][-1]["request"]["training_pipeline"]["training_task_inputs"]
    assert inputs["transformations"] == [
        {"numeric": {"column_name": "age"}},
        {"categorical": {"column_name": "plan"}},
    ]
    assert inputs["optimizationObjective"] == "maximize-precision-at-recall"
    assert inputs["optimizationObjectiveRecallValue"] == pytest.approx(0.8)


def test_named_id_columns_are_excluded_by_default(tmp_path: Path) -> None:
    answers = BASE | {"task": "tabular_classification", "id_columns": "customer_id"}
    answers["label_column"] = "churned"
    project = render_to(answers, tmp_path / "ids")
    report = dry_run(project, "submit", "--columns", "customer_id,age:numeric,churned")
    inputs = report["requests"][-1]["request"]["training_pipeline"]["training_task_inputs"]
    assert inputs["transformations"] == [{"numeric": {"column_name": "age"}}]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--objective", "maximize-log-loss"], "one of"),  # the guide's invalid objective
        (["--objective", "maximize-recall-at-precision"], "--objective-value"),
        (["--columns", "a:float,churned"], "the type must be one of"),
        (["--columns", "id,churned", "--exclude", "id"], "no feature columns"),
    ],
)
def test_invalid_settings_exit_2(args: list[str], message: str, tmp_path: Path) -> None:
    _, project = generate("tabular-classification", tmp_path)
    code, out, err = run_main(project, "submit", "--dry-run", *args)
    assert (code, out) == (2, "")
    assert message in err


@pytest.mark.parametrize("case", ["tabular-classification", "detection-edge"])
def test_generated_project_tests_pass_offline(case: str, tmp_path: Path) -> None:
    _, project = generate(case, tmp_path)
    assert project_tests(project) == ""


@pytest.mark.parametrize(
    "task", ["text_classification", "sentiment_analysis", "video_classification"]
)
def test_shut_down_automl_products_are_never_generated(task: str, tmp_path: Path) -> None:
    """A team that would have used AutoML Text or Video gets another route, and nothing in the
    project constructs the shut-down products' jobs."""
    answers = BASE | {"task": task}
    rec = recommendation_for(answers)
    assert rec.choice("service") != "automl"
    assert rec.choice("automl") == "not_applicable"
    assert "shut down" in rec.decisions["automl"]["because"]
    files = render_project(rec)
    text = "\n".join(files.values())
    for dead in ("AutoMLTextTrainingJob", "AutoMLVideoTrainingJob", "TextDataset", "VideoDataset"):
        assert dead not in text


def test_automl_stack_without_a_product_explains_instead_of_generating_code() -> None:
    """Should a recommendation ever send a text task to the AutoML stack, the project is a
    README that explains the shutdown, with no code that cannot run."""
    rec = recommendation_for(BASE | {"task": "text_classification"})
    decisions = copy.deepcopy(rec.decisions)
    decisions["service"]["choice"] = "automl"
    files = render_project(dataclasses.replace(rec, decisions=decisions))
    assert not any(name.endswith(".py") for name in files)
    assert "shut down on 15 Jun 2025" in files["README.md"]


def test_a_real_submit_sends_the_same_requests(tmp_path: Path) -> None:
    """`python submit.py` without --dry-run (default credentials stubbed, the create calls
    stopped at the client): the dataset and the training job go out as in the dry run."""
    from unittest import mock

    import google.auth
    import google.auth.credentials

    _, project = generate("tabular-classification", tmp_path)
    expected = dry_run(project, "submit", "--columns", "age,plan,churned")
    anonymous = google.auth.credentials.AnonymousCredentials()
    with (
        project_imports(project),
        mock.patch.object(google.auth, "default", return_value=(anonymous, "acme-ml")),
    ):
        import submit  # type: ignore[import-not-found]
        import vertex_dry_run  # type: ignore[import-not-found]

        with vertex_dry_run.recording() as recorder, pytest.raises(vertex_dry_run.RequestCaptured):
            submit.main(["--columns", "age,plan,churned"])
    assert recorder.requests == expected["requests"]
