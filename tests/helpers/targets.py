"""Answers that lead the engine to each trainer stack on each Vertex AI target.

One table for the job tests (tests/project/test_vertex_*.py) and the layout test; each row says
which hardware and distribution the engine must pick, and tests/project/test_vertex_submit.py
asserts it.
"""

from __future__ import annotations

from typing import Any

# Answers that lead the engine to each target: (framework, answers, hardware, distribution).
TARGETS: list[tuple[str, str, dict[str, Any], str, str]] = [
    ("tf-cpu", "tensorflow", {"model_family": "mlp", "data_size_gb": 0.5}, "cpu", "none"),
    ("tf-gpu", "tensorflow", {}, "single_gpu", "none"),
    ("tf-mirrored", "tensorflow", {"model_parameters": 200_000_000}, "multi_gpu", "mirrored"),
    (
        "tf-multi-worker",
        "tensorflow",
        {"model_parameters": 200_000_000, "max_machines": 3},
        "multi_gpu",
        "multi_worker_mirrored",
    ),
    (
        "tf-a100",
        "tensorflow",
        {"model_parameters": 2_000_000_000, "custom_ops": True, "max_machines": 2},
        "multi_gpu",
        "multi_worker_mirrored",
    ),
    (
        "tf-tpu",
        "tensorflow",
        {"task": "image_classification", "model_family": "cnn", "model_parameters": 200_000_000},
        "tpu",
        "tpu_strategy",
    ),
    ("tf-tpu-pod", "tensorflow", {"model_parameters": 2_000_000_000}, "tpu_pod", "tpu_strategy"),
    (
        "tf-parameter-server",
        "tensorflow",
        {"large_embeddings": True, "max_machines": 4},
        "cpu",
        "parameter_server",
    ),
    ("tf-embeddings-tpu", "tensorflow", {"large_embeddings": True}, "tpu", "tpu_strategy"),
    ("torch-cpu", "pytorch", {"model_family": "mlp", "data_size_gb": 0.5}, "cpu", "none"),
    ("torch-gpu", "pytorch", {}, "single_gpu", "none"),
    ("torch-ddp", "pytorch", {"model_parameters": 200_000_000}, "multi_gpu", "pytorch_ddp"),
    (
        "torch-ddp-nodes",
        "pytorch",
        {"model_parameters": 200_000_000, "max_machines": 2},
        "multi_gpu",
        "pytorch_ddp",
    ),
    (
        "torch-tpu",
        "pytorch",
        {
            "task": "text_classification",
            "model_family": "transformer",
            "expected_training_hours": 200,
        },
        "tpu",
        "pytorch_xla",
    ),
    ("torch-tpu-pod", "pytorch", {"model_parameters": 2_000_000_000}, "tpu_pod", "pytorch_xla"),
    ("lightning-gpu", "pytorch_lightning", {}, "single_gpu", "none"),
    (
        "lightning-ddp",
        "pytorch_lightning",
        {"model_parameters": 200_000_000, "max_machines": 2},
        "multi_gpu",
        "pytorch_ddp",
    ),
    (
        "lightning-tpu",
        "pytorch_lightning",
        {"task": "image_classification", "model_family": "cnn", "expected_training_hours": 200},
        "tpu",
        "pytorch_xla",
    ),
    ("sklearn-cpu", "scikit_learn", {}, "cpu", "none"),
    ("xgboost-cpu", "xgboost", {}, "cpu", "none"),
    ("xgboost-gpu", "xgboost", {"data_size_gb": 20}, "single_gpu", "none"),
]
TUNING: dict[str, dict[str, Any]] = {
    "none": {},
    "random": {"hyperparameters": 3, "max_trials": 10, "parallel_trials": 2},
    "grid": {"hyperparameters": 3, "all_params_discrete": True, "search_points": 12},
    "bayesian": {"hyperparameters": 4, "trial_cost": "expensive", "max_trials": 30},
}


def answers_for(framework: str, extra: dict[str, Any], tuning: str, spot: bool) -> dict[str, Any]:
    return {
        "project_name": "demo-job",
        "task": "tabular_classification",
        "framework": framework,
        "gcp_project": "acme-ml",
        "region": "europe-west4",
        "bucket": "gs://acme-ml-staging",
        **extra,
        **TUNING[tuning],
        "fault_tolerant": spot,
    }


# One answer set per stack, the managed ones included (tests/project/test_targets.py asserts each
# leads the engine to its stack; `rules check` proves every stack is reachable at all).
STACK_ANSWERS: dict[str, dict[str, Any]] = {
    "not_covered": {
        "task": "tabular_classification",
        "data_location": "on_premises",
        "data_must_stay_on_premises": True,
    },
    "pretrained_api": {"task": "image_classification", "labels": "generic"},
    "bigquery_ml": {
        "task": "tabular_classification",
        "team": "sql_analysts",
        "data_location": "bigquery",
    },
    "automl": {"task": "tabular_classification", "team": "no_ml_expertise"},
    "foundation_model": {
        "task": "sentiment_analysis",
        "labels": "custom",
        "team": "no_ml_expertise",
        "labeled_examples": 20_000,
    },
    "tensorflow": {"task": "tabular_classification", "framework": "tensorflow"},
    "pytorch": {"task": "tabular_classification", "framework": "pytorch"},
    "pytorch_lightning": {"task": "tabular_classification", "framework": "pytorch_lightning"},
    "pytorch_xla": {"framework": "pytorch", "model_parameters": 2_000_000_000},
    "scikit_learn": {"task": "tabular_classification", "framework": "scikit_learn"},
    "xgboost": {"task": "tabular_regression", "framework": "xgboost"},
}
STACK_ANSWERS = {
    stack: {"project_name": "demo-job", "gcp_project": "acme-ml", **answers}
    for stack, answers in STACK_ANSWERS.items()
}
