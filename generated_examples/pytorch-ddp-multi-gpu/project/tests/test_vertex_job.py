"""submit.py builds the Vertex AI job with the real SDK, offline (no credentials, no network)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import submit  # noqa: E402
from trainer.task import build_parser  # noqa: E402


def worker_pools(report: dict[str, Any]) -> list[dict[str, Any]]:
    (sent,) = report["requests"]
    body = sent["request"]
    if "training_pipeline" in body:
        return body["training_pipeline"]["training_task_inputs"]["worker_pool_specs"]
    if "custom_job" in body:
        return body["custom_job"]["job_spec"]["worker_pool_specs"]
    return body["hyperparameter_tuning_job"]["trial_job_spec"]["worker_pool_specs"]


def code_of(pool: dict[str, Any]) -> dict[str, Any]:
    return pool.get("python_package_spec") or pool.get("container_spec") or pool["containerSpec"]


def test_dry_run_builds_the_recommended_job(capsys: pytest.CaptureFixture[str]) -> None:
    assert submit.main(["--dry-run"]) == 0
    report = json.loads(capsys.readouterr().out)
    pools = worker_pools(report)
    assert int(pools[0]["replica_count"]) == 1  # pool 0 is the chief
    assert sum(int(p["replica_count"]) for p in pools[:2]) == max(
        submit.REPLICA_COUNT, 2 if submit.PARAMETER_SERVER_COUNT else 1
    )
    for pool in pools[:2]:
        machine = pool["machine_spec"]
        assert machine["machine_type"] == submit.MACHINE_TYPE
        if submit.ACCELERATOR_TYPE:
            assert machine["accelerator_type"] == submit.ACCELERATOR_TYPE
            assert int(machine["accelerator_count"]) == submit.ACCELERATOR_COUNT
    for pool in pools:
        code = code_of(pool)
        build_parser().parse_args(code["args"])  # the trainer accepts every arg it is given
        assert "TF_CONFIG" not in {item["name"] for item in code.get("env", [])}
