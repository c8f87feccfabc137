"""The pipeline option and what follows training, for every custom-training stack.

Each stack's project is generated with `pipeline=true`; its pipeline.py compiles (kfp, offline)
and its PipelineJob request is checked: the steps, the evaluation gate, the artifacts passed from
training to registration to serving. The same projects' `make dry-run` requests hold the endpoint
deploy (machine and autoscaling from the catalogue) and the batch prediction job. Nothing trains.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from advisor.engine import default_ruleset
from advisor.project.render import select_stack
from tests.helpers.gen import recommendation_for, render_to
from tests.helpers.targets import STACK_ANSWERS
from tests.helpers.vertex import dry_run, ruff, stacks_present

SERVE_STEP = {"deploy": "model-deploy", "batch": "model-batch-predict"}


def answers(stack: str, **extra: Any) -> dict[str, Any]:
    found = {**STACK_ANSWERS[stack], "pipeline": True, **extra}
    assert select_stack(recommendation_for(found)) == stack
    return found


def pipeline_spec(report: dict[str, Any]) -> dict[str, Any]:
    methods = [r["method"] for r in report["requests"]]
    assert methods == [
        "Storage.create_bucket_for_pipeline_artifacts_if_it_does_not_exist",
        "PipelineService.create_pipeline_job",
    ]
    return report["requests"][-1]["request"]["pipeline_job"]["pipeline_spec"]


def check_graph(spec: dict[str, Any], target: str, threshold: float) -> None:
    outside = spec["root"]["dag"]["tasks"]
    assert set(outside) == {"custom-training-job", "evaluate-model", "condition-1"}
    assert outside["evaluate-model"]["dependentTasks"] == ["custom-training-job"]
    gate = outside["condition-1"]
    assert gate["taskInfo"]["name"] == "evaluation-gate"
    assert gate["triggerPolicy"]["condition"].endswith(
        "['pipelinechannel--evaluate-model-decision'] == 'pass'"
    )
    default = spec["root"]["inputDefinitions"]["parameters"]["threshold"]["defaultValue"]
    assert default == threshold
    inside = spec["components"]["comp-condition-1"]["dag"]["tasks"]
    assert set(inside) == {"importer", "model-upload", SERVE_STEP[target]} | (
        {"endpoint-create"} if target == "deploy" else set()
    )
    upload = inside["model-upload"]["inputs"]["artifacts"]["unmanaged_container_model"]
    assert upload["taskOutputArtifact"]["producerTask"] == "importer"
    model = inside[SERVE_STEP[target]]["inputs"]["artifacts"]["model"]["taskOutputArtifact"]
    assert model == {"producerTask": "model-upload", "outputArtifactKey": "model"}
    if target == "deploy":
        endpoint = inside["model-deploy"]["inputs"]["artifacts"]["endpoint"]["taskOutputArtifact"]
        assert endpoint["producerTask"] == "endpoint-create"
    train = outside["custom-training-job"]["inputs"]["parameters"]
    base = train["base_output_directory"]["runtimeValue"]["constant"]
    metrics = outside["evaluate-model"]["inputs"]["parameters"]["metrics_uri"]
    assert metrics["runtimeValue"]["constant"] == f"{base}/metrics.json"
    model_dir = outside["evaluate-model"]["inputs"]["parameters"]["model_dir"]
    assert model_dir["runtimeValue"]["constant"] == f"{base}/model"
    uri = inside["importer"]["inputs"]["parameters"]["uri"]["componentInputParameter"]
    assert uri == "pipelinechannel--evaluate-model-model_dir"
    importer = spec["deploymentSpec"]["executors"]["exec-importer"]["importer"]
    assert importer["artifactUri"]["runtimeParameter"] == "uri"
    assert importer["typeSchema"]["schemaTitle"] == "google.UnmanagedContainerModel"


def check_serving(report: dict[str, Any]) -> None:
    """The endpoint deploy and the batch prediction job of submit.py's dry run."""
    catalogue = default_ruleset().catalogue
    assert catalogue is not None
    endpoint, batch = catalogue.prediction["endpoint"], catalogue.prediction["batch"]
    served = report["prediction"]
    methods = [r["method"] for r in served["deploy"]]
    assert methods == ["EndpointService.create_endpoint", "EndpointService.deploy_model"]
    deployed = served["deploy"][1]["request"]["deployed_model"]["dedicated_resources"]
    assert deployed["machine_spec"]["machine_type"] == endpoint["machine_type"]
    assert deployed["min_replica_count"] == endpoint["min_replica_count"]
    assert deployed["max_replica_count"] == endpoint["max_replica_count"]
    (target,) = deployed["autoscaling_metric_specs"]
    assert target["target"] == endpoint["autoscaling_target_cpu_utilization"]
    (job,) = served["batch"]
    assert job["method"] == "JobService.create_batch_prediction_job"
    sent = job["request"]["batch_prediction_job"]
    assert sent["dedicated_resources"]["machine_spec"]["machine_type"] == batch["machine_type"]
    assert sent["dedicated_resources"]["max_replica_count"] == batch["max_replica_count"]
    assert sent["input_config"]["gcs_source"]["uris"][0].startswith("gs://")


@pytest.mark.parametrize("stack", stacks_present())
def test_each_stack_deploys_predicts_and_compiles_its_pipeline(stack: str, tmp_path: Path) -> None:
    threshold = 0.25 if stack == "xgboost" else 0.6  # xgboost's sample is a regression (RMSE)
    project = render_to(answers(stack, evaluation_threshold=threshold), tmp_path / stack)
    check_serving(dry_run(project))
    report = dry_run(project, "pipeline")
    assert report["threshold"] == threshold and report["target"] == "deploy"
    check_graph(pipeline_spec(report), "deploy", threshold)
    assert (project / "pipeline.yaml").is_file()
    # The README prices each step from the catalogue.
    catalogue = default_ruleset().catalogue
    assert catalogue is not None
    machine = catalogue.prediction["endpoint"]["machine_type"]
    readme = (project / "README.md").read_text()
    assert "## From `make train` to a prediction" in readme and "### Vertex AI Pipelines" in readme
    assert f"${catalogue.prediction[machine]['hourly_usd']:.4f} a node-hour" in readme
    names = ["pipeline.py", "predict.py", "tests/test_pipeline.py", "tests/test_experiments.py"]
    assert ruff([project / n for n in names]) == ""


def test_batch_serving_runs_batch_prediction_in_the_pipeline(tmp_path: Path) -> None:
    extra = {"deployment_target": "batch", "evaluation_threshold": 0.5}
    project = render_to(answers("scikit_learn", **extra), tmp_path / "batch")
    report = dry_run(project, "pipeline")
    assert report["target"] == "batch"
    check_graph(pipeline_spec(report), "batch", 0.5)
    # The project's own pipeline tests pass in its environment.
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_pipeline.py"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:]


def test_no_pipeline_by_default(tmp_path: Path) -> None:
    project = render_to(STACK_ANSWERS["scikit_learn"], tmp_path / "plain")
    assert not (project / "pipeline.py").exists()
    assert not (project / "requirements-pipeline.txt").exists()
    assert "pipeline-dry-run" not in (project / "Makefile").read_text()
    assert "pipeline = [" not in (project / "pyproject.toml").read_text()


def test_batch_prediction_reads_bigquery_and_refuses_other_sources(tmp_path: Path) -> None:
    project = render_to(STACK_ANSWERS["scikit_learn"], tmp_path / "bq")
    report = dry_run(project, "predict", "batch", "--source", "bq://acme-ml.sales.rows")
    sent = report["batch"][0]["request"]["batch_prediction_job"]
    assert sent["input_config"] == {
        "instances_format": "bigquery",
        "bigquery_source": {"input_uri": "bq://acme-ml.sales.rows"},
    }
    assert sent["output_config"]["bigquery_destination"] == {"output_uri": "bq://acme-ml"}
    assert "deploy" not in report
    bad = subprocess.run(
        [sys.executable, "predict.py", "batch", "--dry-run", "--source", "/tmp/rows.csv"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert bad.returncode == 2 and "--source /tmp/rows.csv" in bad.stderr
    assert "Traceback" not in bad.stderr


@pytest.mark.slow
@pytest.mark.parametrize("stack", ["scikit_learn", "xgboost", "pytorch"])
def test_the_trainer_logs_to_experiments(stack: str, tmp_path: Path) -> None:
    """The generated Experiments tests, a short training run among them, with the SDK's calls
    intercepted: one stack per kind of hook (final metrics only, boosting rounds, epochs)."""
    project = render_to({**STACK_ANSWERS[stack], "experiment": "churn"}, tmp_path / stack)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/test_experiments.py",
        ],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "6 passed" in result.stdout
    report = dry_run(project)
    (sent,) = report["requests"]
    assert "--experiment=churn" in json.dumps(sent)
