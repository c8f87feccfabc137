"""The machine-spec table the Vertex tests check jobs against agrees with the SDK."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers.vertex import FIXED_GPU_MACHINES, N1_COUNTS, machine_spec_problem


def test_every_accelerator_in_the_tables_is_in_the_sdk_enum() -> None:
    from google.cloud.aiplatform_v1.types import AcceleratorType

    known = set(AcceleratorType.__members__)
    assert set(N1_COUNTS) | set(FIXED_GPU_MACHINES) | {"TPU_V2", "TPU_V3"} <= known


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        (
            {
                "machine_type": "n1-standard-8",
                "accelerator_type": "NVIDIA_TESLA_T4",
                "accelerator_count": 1,
            },
            None,
        ),
        (
            {
                "machine_type": "a2-highgpu-8g",
                "accelerator_type": "NVIDIA_TESLA_A100",
                "accelerator_count": 8,
            },
            None,
        ),
        (
            {
                "machine_type": "a2-highgpu-8g",
                "accelerator_type": "NVIDIA_TESLA_A100",
                "accelerator_count": 4,
            },
            "a2-highgpu-8g has 8 GPUs, not 4",
        ),
        (
            {
                "machine_type": "n1-standard-8",
                "accelerator_type": "NVIDIA_TESLA_A100",
                "accelerator_count": 1,
            },
            "NVIDIA_TESLA_A100 does not run on n1-standard-8",
        ),
        (
            {"machine_type": "cloud-tpu", "accelerator_type": "TPU_V3", "accelerator_count": 32},
            None,
        ),
        (
            {"machine_type": "cloud-tpu", "accelerator_type": "TPU_V3", "accelerator_count": 16},
            "cloud-tpu takes 8 cores or a multiple of 32, not 16",
        ),
        ({"machine_type": "ct5lp-hightpu-4t", "tpu_topology": "2x2"}, None),
        (
            {
                "machine_type": "ct5lp-hightpu-4t",
                "accelerator_type": "TPU_V5_LITEPOD",
                "accelerator_count": 4,
                "tpu_topology": "2x2",
            },
            "TPU v5e takes a topology and no accelerator type or count",
        ),
    ],
)
def test_machine_spec_table(spec: dict[str, Any], problem: str | None) -> None:
    assert machine_spec_problem(spec) == problem


def test_every_catalogue_offer_is_a_valid_machine_spec_the_sdk_accepts() -> None:
    """Sizing can only pick catalogue offers, so each must be a pool Vertex AI takes."""
    import google.auth.credentials
    from google.cloud import aiplatform

    from advisor.ruleset import default_ruleset

    catalogue = default_ruleset().catalogue
    assert catalogue is not None
    aiplatform.init(
        project="test-proj",
        location="us-central1",
        staging_bucket="gs://test-bucket",
        credentials=google.auth.credentials.AnonymousCredentials(),
    )
    job = aiplatform.CustomTrainingJob(
        display_name="sizing",
        script_path=__file__,
        container_uri="us-docker.pkg.dev/vertex-ai/training/tf-cpu.2-17.py310:latest",
    )
    for offer in catalogue.offers:
        spec: dict[str, Any] = {
            "machine_type": offer.machine_type,
            "accelerator_type": offer.accelerator_type,
            "accelerator_count": offer.accelerator_count,
        }
        if offer.tpu_topology:
            spec["tpu_topology"] = offer.tpu_topology
        assert machine_spec_problem(spec) is None, offer.label
        accelerator = (
            {
                "accelerator_type": offer.accelerator_type,
                "accelerator_count": offer.accelerator_count,
            }
            if offer.accelerator_type
            else {}
        )
        pools, _ = job._prepare_and_validate_run(
            replica_count=1,
            machine_type=offer.machine_type,
            tpu_topology=offer.tpu_topology,
            **accelerator,
        )
        sent = pools[0]["machine_spec"]
        assert sent["machine_type"] == offer.machine_type, offer.label
        assert sent.get("tpu_topology") == offer.tpu_topology, offer.label
