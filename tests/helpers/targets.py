"""Answers that lead the engine to each trainer stack on each Vertex AI target: the one place
the tests keep them.

- TARGETS: framework x target rows for the job tests (tests/project/test_vertex_*.py) and the
  layout test; each row says which hardware and distribution the engine must pick.
- STACK_ANSWERS: one answer set per stack, managed ones included.
- STACK_CASES: the stack tests' named cases (tests/project/stacks/), each with what the engine
  must pick for it.

tests/project/test_targets.py asserts every row once, so the tests that use them can rely on it.
"""

from __future__ import annotations

from typing import Any, NamedTuple

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


class StackCase(NamedTuple):
    """Answers for one stack test case and the decisions the engine must make for them."""

    answers: dict[str, Any]
    # decision id -> choice, asserted by tests/project/test_targets.py
    expected: dict[str, str]


def _tf(answers: dict[str, Any], hardware: str, distribution: str) -> StackCase:
    return StackCase(
        {"framework": "tensorflow", **answers}, {"hardware": hardware, "distribution": distribution}
    )


def _torch(answers: dict[str, Any], hardware: str) -> StackCase:
    # shared by the PyTorch, Lightning and PyTorch/XLA stacks: the framework is the test's own
    return StackCase(answers, {"hardware": hardware})


STACK_CASES: dict[str, dict[str, StackCase]] = {
    # the TensorFlow stack on every target, covering every task family
    "tensorflow": {
        # one device (CPU), tabular classification, random search tuning
        "cpu_tabular": _tf(
            {
                "task": "tabular_classification",
                "model_family": "mlp",
                "data_size_gb": 0.5,
                "hyperparameters": 2,
                "label_column": "churned",
            },
            "cpu",
            "none",
        ),
        # one device (GPU: mixed precision), the other families
        "gpu_regression": _tf(
            {"task": "tabular_regression", "model_family": "mlp", "data_size_gb": 5},
            "single_gpu",
            "none",
        ),
        "gpu_time_series": _tf(
            {"task": "time_series_forecasting", "model_family": "rnn"}, "single_gpu", "none"
        ),
        "gpu_image": _tf(
            {
                "task": "image_classification",
                "model_family": "cnn",
                "hyperparameters": 3,
                "all_params_discrete": True,
                "search_points": 36,
            },
            "single_gpu",
            "none",
        ),
        "gpu_text": _tf(
            {"task": "text_classification", "model_family": "other"}, "single_gpu", "none"
        ),
        "mirrored": _tf(
            {"task": "tabular_classification", "expected_training_hours": 48},
            "multi_gpu",
            "mirrored",
        ),
        "multi_worker": _tf(
            {
                "task": "tabular_regression",
                "model_family": "mlp",
                "model_parameters": 300_000_000,
                "max_machines": 2,
            },
            "multi_gpu",
            "multi_worker_mirrored",
        ),
        "tpu": _tf(
            {
                "task": "text_classification",
                "model_family": "transformer",
                "model_parameters": 340_000_000,
            },
            "tpu",
            "tpu_strategy",
        ),
        "parameter_server": _tf(
            {
                "task": "tabular_classification",
                "large_embeddings": True,
                "max_machines": 6,
                "fault_tolerant": True,
            },
            "cpu",
            "parameter_server",
        ),
        # tasks without a model of their own map to the nearest family
        "detection": _tf({"task": "object_detection", "model_family": "cnn"}, "single_gpu", "none"),
        "recommendation": _tf(
            {"task": "recommendation", "deployment_target": "mobile"}, "single_gpu", "none"
        ),
    },
    "xgboost": {
        # CPU, classification, grid search over a small all-discrete space
        "cpu_grid": StackCase(
            {
                "task": "tabular_classification",
                "framework": "xgboost",
                "hyperparameters": 2,
                "all_params_discrete": True,
                "search_points": 9,
                "max_trials": 9,
            },
            {"hardware": "cpu", "hp_search": "grid"},
        ),
        # one GPU (large data), regression, random search
        "gpu_random": StackCase(
            {
                "task": "tabular_regression",
                "framework": "xgboost",
                "data_size_gb": 20,
                "hyperparameters": 3,
            },
            {"hardware": "single_gpu", "hp_search": "random"},
        ),
        # tree ensembles without a preference, no tuning, a label name that needs quoting
        "cpu_plain": StackCase(
            {
                "task": "tabular_classification",
                "model_family": "tree_ensemble",
                "label_column": 'churned "yes", or not',
            },
            {"hardware": "cpu", "hp_search": "none"},
        ),
    },
    # each hardware target of the torch stacks, added to a task and a framework by the test
    "torch": {
        "cpu": _torch({"model_parameters": 500_000}, "cpu"),
        "single_gpu": _torch({}, "single_gpu"),
        "multi_gpu": _torch({"model_parameters": 300_000_000}, "multi_gpu"),
        "multi_node": _torch({"model_parameters": 300_000_000, "max_machines": 2}, "multi_gpu"),
        "tpu": _torch({"model_family": "cnn", "expected_training_hours": 200}, "tpu"),
        "tpu_pod": _torch({"model_parameters": 2_000_000_000}, "tpu_pod"),
    },
}
