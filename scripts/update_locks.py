"""Resolve a uv.lock for every dependency set the generator writes, into templates/locks/.

    python scripts/update_locks.py           # needs uv (the test extra) and PyPI
    python scripts/update_locks.py --check   # offline: every reachable set has a lock

A generated project gets its lock from the store (advisor/project/locks.py), so run this after
changing a pin, a requirements template or the pyproject template; tests/project/test_locks.py
fails until the store matches. The answer sets come from the bundled examples and a grid over
the answers that change a project's dependencies (framework, task, target, tuning, compression,
pipeline); a project outside them falls back to `make lock`.
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from advisor.answers import read_answers_file  # noqa: E402
from advisor.errors import AdvisorError  # noqa: E402
from advisor.paths import templates_dir  # noqa: E402
from advisor.project import locks  # noqa: E402
from advisor.project.generate import build_project  # noqa: E402

BASE = {"project_name": "lock-probe", "gcp_project": "acme-ml", "region": "us-central1"}
TASKS = [
    "tabular_classification",
    "tabular_regression",
    "time_series_forecasting",
    "image_classification",
    "text_classification",
]
TRAINERS = ["tensorflow", "pytorch", "pytorch_lightning", "scikit_learn", "xgboost"]
# answers with no dependency of their own beyond the stack's: API tasks, managed routes
MANAGED: list[dict[str, Any]] = [
    {"task": task, "labels": "generic"}
    for task in [
        "image_classification",
        "object_detection",
        "text_classification",
        "entity_extraction",
        "sentiment_analysis",
        "translation",
        "speech_to_text",
        "ocr",
        "video_classification",
        "video_object_tracking",
    ]
] + [
    {"task": "tabular_classification", "team": "no_ml_expertise"},
    {"task": "image_classification", "team": "no_ml_expertise"},
    {"task": "tabular_classification", "team": "sql_analysts", "data_location": "bigquery"},
    {
        "task": "sentiment_analysis",
        "labels": "custom",
        "team": "no_ml_expertise",
        "labeled_examples": 20_000,
    },
]
# every combination of the answers that add a dependency group: tuning, pipeline, compression
VARIANTS: list[dict[str, Any]] = [
    tuning | pipeline | compression
    for tuning in ({}, {"hyperparameters": 3})
    for pipeline in ({}, {"pipeline": True})
    for compression in ({}, {"deployment_target": "mobile", "size_reduction_pct": 60})
]
TPU = [{"model_parameters": 2_000_000_000}, {"model_family": "cnn", "expected_training_hours": 200}]


def answer_sets() -> Iterator[dict[str, Any]]:
    for example in sorted((REPO / "examples").glob("*.yml")):
        yield read_answers_file(example)
    for extra, pipeline in itertools.product(MANAGED, ({}, {"pipeline": True})):
        yield BASE | extra | pipeline
    for framework, task, variant in itertools.product(TRAINERS, TASKS, VARIANTS):
        yield BASE | {"framework": framework, "task": task} | variant
    for framework, task, target, variant in itertools.product(
        ["pytorch", "pytorch_lightning"], TASKS, TPU, VARIANTS
    ):
        yield BASE | {"framework": framework, "task": task} | target | variant


def pyprojects() -> dict[str, str]:
    """key -> one pyproject.toml with that dependency set, over every answer set."""
    found: dict[str, str] = {}
    for answers in answer_sets():
        try:
            files = build_project(answers, "lock grid").files
        except AdvisorError:
            continue  # a combination the interface does not allow
        text = files.get("pyproject.toml")
        if text:
            found.setdefault(locks.lock_key(text), text)
    return found


def resolve(pyproject: str, uv: str) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "pyproject.toml").write_text(pyproject, encoding="utf-8")
        subprocess.run([uv, "lock", "--quiet"], cwd=tmp, check=True)
        text = (Path(tmp) / locks.LOCK_FILE).read_text(encoding="utf-8")
    name = tomllib.loads(pyproject)["project"]["name"]
    return locks.generic_lock(text, name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report missing locks")
    args = parser.parse_args()
    wanted = pyprojects()
    store = templates_dir() / locks.STORE
    if args.check:
        missing = [key for key, text in wanted.items() if locks.lock_for(text) is None]
        print(f"{len(wanted)} dependency sets, {len(missing)} without a lock")
        return 1 if missing else 0
    uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    with ThreadPoolExecutor(max_workers=4) as pool:
        resolved = dict(
            zip(wanted, pool.map(lambda text: resolve(text, uv), wanted.values()), strict=True)
        )
    store.parent.mkdir(parents=True, exist_ok=True)
    store.write_text(locks.store_text(resolved), encoding="utf-8")
    print(f"{len(resolved)} locks -> {store.relative_to(REPO)} ({store.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
