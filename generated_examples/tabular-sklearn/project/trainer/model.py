"""The model: preprocessing and HistGradientBoostingClassifier in one scikit-learn pipeline.

Columns are selected by position, so the saved pipeline predicts on plain lists of feature values,
which is what Vertex AI's prebuilt scikit-learn prediction container passes to `predict`.
"""

from __future__ import annotations

from typing import Any

from scipy import stats
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

ESTIMATOR = "HistGradientBoostingClassifier"
REGRESSION = False
# Every hyperparameter the trainer accepts as a flag (`--<id>`); the first ones are tuned.
PARAMETERS: list[dict[str, Any]] = [
    {
        "id": "learning_rate",
        "type": "double",
        "min": 0.01,
        "max": 0.3,
        "scale": "log",
        "values": [0.03, 0.1, 0.3],
        "default": 0.1,
        "help": "shrinkage of each boosting step",
    },
    {
        "id": "max_iter",
        "type": "integer",
        "min": 50,
        "max": 500,
        "scale": "linear",
        "values": [50, 100, 200],
        "default": 100,
        "help": "boosting iterations (trees)",
    },
    {
        "id": "max_leaf_nodes",
        "type": "integer",
        "min": 8,
        "max": 64,
        "scale": "linear",
        "values": [15, 31, 63],
        "default": 31,
        "help": "leaves per tree",
    },
    {
        "id": "min_samples_leaf",
        "type": "integer",
        "min": 5,
        "max": 100,
        "scale": "linear",
        "values": [10, 20, 40],
        "default": 20,
        "help": "samples per leaf",
    },
    {
        "id": "l2_regularization",
        "type": "double",
        "min": 0.0001,
        "max": 10.0,
        "scale": "log",
        "values": [0.001, 0.1, 1.0],
        "default": 0.001,
        "help": "L2 regularization of the leaves",
    },
]
# The ids tuned by Vertex AI (trainer/hyperparameters.json) and by the local search.
TUNED: list[str] = ["learning_rate", "max_iter"]
ALL_DISCRETE = True
METRIC = {"id": "accuracy", "goal": "maximize"}


def _estimator(params: dict[str, Any]) -> Any:
    return HistGradientBoostingClassifier(
        learning_rate=params["learning_rate"],
        max_iter=params["max_iter"],
        max_leaf_nodes=params["max_leaf_nodes"],
        min_samples_leaf=params["min_samples_leaf"],
        l2_regularization=params["l2_regularization"],
        random_state=42,
    )


def build_pipeline(
    numeric: list[int], categorical: list[int], params: dict[str, Any] | None = None
) -> Pipeline:
    """Preprocessing by column position, then the estimator; `params` override the defaults."""
    values = {p["id"]: p["default"] for p in PARAMETERS} | (params or {})
    preprocess = ColumnTransformer(
        [
            (
                "numeric",
                Pipeline(
                    [("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]
                ),
                numeric,
            ),
            (
                "categorical",
                Pipeline(
                    [
                        ("impute", SimpleImputer(strategy="constant", fill_value="missing")),
                        (
                            "onehot",
                            OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                        ),
                    ]
                ),
                categorical,
            ),
        ]
    )
    return Pipeline([("preprocess", preprocess), ("model", _estimator(values))])


def search_space(kind: str) -> dict[str, Any]:
    """The local search space over the tuned parameters, as `model__<id>` for the pipeline.

    Grid search (and all-discrete tuning) uses each parameter's discrete values; randomized
    search samples the same ranges Vertex AI tunes (log-uniform where the scale is log).
    """
    space: dict[str, Any] = {}
    for p in PARAMETERS:
        if p["id"] not in TUNED:
            continue
        key = "model__" + p["id"]
        if kind == "grid" or ALL_DISCRETE or p["type"] == "categorical":
            space[key] = _cast_all(p, p["values"])
        elif p["type"] == "integer":
            space[key] = stats.randint(p["min"], p["max"] + 1)
        elif p["scale"] == "log":
            space[key] = stats.loguniform(p["min"], p["max"])
        else:
            space[key] = stats.uniform(p["min"], p["max"] - p["min"])
    return space


def _cast_all(parameter: dict[str, Any], values: list[Any]) -> list[Any]:
    if parameter["id"] == "fit_intercept":
        return [v == "true" for v in values]
    if parameter["id"] == "class_weight":
        return [None if v == "none" else v for v in values]
    return list(values)
