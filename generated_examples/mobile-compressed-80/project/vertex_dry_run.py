"""Dry runs of the Vertex AI SDK: build the real requests, send nothing.

`--dry-run` builds every job with google-cloud-aiplatform exactly as a real run does, with
anonymous credentials. The public GAPIC client methods that would reach Google Cloud are
patched while `recording()` is active: a method that starts work (a training pipeline, a
custom job, a tuning job, a model export, a pipeline run, a deploy, a batch prediction)
records its request and stops the SDK before it polls; the dataset calls answer with the
dataset they were sent, so a flow can go on to its training job, and an endpoint's creation
and a model's lookup answer the same way, so a deploy or a batch prediction reaches its
request. Any other call to a Google API fails loudly instead of touching the network.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

import google.auth.credentials
import proto
from google.api_core.gapic_v1 import method as gapic_method
from google.auth.transport import requests as auth_requests
from google.cloud.aiplatform.compat.types import custom_job as gca_custom_job
from google.cloud.aiplatform.utils import gcs_utils
from google.cloud.aiplatform_v1.services.dataset_service import DatasetServiceClient
from google.cloud.aiplatform_v1.services.endpoint_service import EndpointServiceClient
from google.cloud.aiplatform_v1.services.job_service import JobServiceClient
from google.cloud.aiplatform_v1.services.model_service import ModelServiceClient
from google.cloud.aiplatform_v1.services.pipeline_service import PipelineServiceClient
from google.cloud.aiplatform_v1.types import dataset as gca_dataset
from google.cloud.aiplatform_v1.types import endpoint as gca_endpoint
from google.cloud.aiplatform_v1.types import model as gca_model

# Methods that start work on Google Cloud: the request is recorded and the SDK stopped.
STARTS_WORK: dict[type, tuple[str, ...]] = {
    PipelineServiceClient: ("create_training_pipeline", "create_pipeline_job"),
    JobServiceClient: (
        "create_custom_job",
        "create_hyperparameter_tuning_job",
        "create_batch_prediction_job",
    ),
    ModelServiceClient: ("export_model", "upload_model"),
    EndpointServiceClient: ("deploy_model",),
}

# Request fields that are call options, not part of what is sent as the request body.
CALL_OPTIONS = frozenset({"retry", "timeout", "metadata"})


class RequestCaptured(Exception):
    """Raised by a patched method once its request is recorded; ends the SDK call."""


class NetworkCallBlocked(RuntimeError):
    """A dry run reached a Google API call that it does not know; nothing was sent."""


def anonymous_credentials() -> google.auth.credentials.Credentials:
    return google.auth.credentials.AnonymousCredentials()


def to_plain(value: Any) -> Any:
    """Protos, enums and containers as JSON-ready Python values (enum names, not numbers)."""
    if isinstance(value, proto.Message):
        return type(value).to_dict(value, use_integers_for_enums=False)
    if isinstance(value, proto.Enum):
        return value.name
    if isinstance(value, dict):
        return {str(key): to_plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_plain(item) for item in value]
    return value


def _readable(value: Any, key: str = "") -> Any:
    """Counts as integers: protobuf JSON writes int64 fields as strings, and the training
    pipeline's inputs travel as a Struct, where every number is a float."""
    if isinstance(value, dict):
        return {k: _readable(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_readable(item, key) for item in value]
    if key.endswith(("_count", "_gb", "Count", "NodeHours")):
        if isinstance(value, str) and value.isdigit():
            return int(value)
        if isinstance(value, float) and value.is_integer():
            return int(value)
    if key == "strategy" and isinstance(value, float):
        return gca_custom_job.Scheduling.Strategy(int(value)).name
    return value


class _Operation:
    """Stands in for a long-running operation that has already finished."""

    def __init__(self, name: str, result: Any = None) -> None:
        self.operation = mock.Mock()
        self.operation.name = name
        self._result = result

    def result(self, timeout: float | None = None) -> Any:
        return self._result

    def done(self) -> bool:
        return True


class Recorder:
    """Collects each request in the order the SDK sends it."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self._datasets: dict[str, gca_dataset.Dataset] = {}
        self._endpoints: dict[str, gca_endpoint.Endpoint] = {}

    def record(self, client: type, method: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        body = {key: to_plain(val) for key, val in kwargs.items() if key not in CALL_OPTIONS}
        if body.get("request") is None:
            body.pop("request", None)
        entry = {"method": f"{client.__name__.removesuffix('Client')}.{method}"}
        entry["request"] = _readable(body)
        self.requests.append(entry)
        return entry

    def stopper(self, client: type, method: str) -> Callable[..., Any]:
        def patched(_self: Any, *args: Any, **kwargs: Any) -> Any:
            if args:
                kwargs = {"request": args[0], **kwargs}
            self.record(client, method, kwargs)
            raise RequestCaptured(method)

        return patched

    # The dataset calls answer like the service would, so `Dataset.create` returns a dataset.
    def create_dataset(self, *, parent: str, dataset: Any, **kwargs: Any) -> Any:
        self.record(DatasetServiceClient, "create_dataset", {"parent": parent, "dataset": dataset})
        created = gca_dataset.Dataset(dataset)
        created.name = f"{parent}/datasets/{len(self._datasets) + 1}"
        self._datasets[created.name] = created
        return _Operation(f"{created.name}/operations/dry-run", created)

    def get_dataset(self, *, name: str, **kwargs: Any) -> Any:
        if name not in self._datasets:
            raise NetworkCallBlocked(f"dry run: dataset {name} was not created in this run")
        return self._datasets[name]

    def create_endpoint(self, *, parent: str, endpoint: Any, **kwargs: Any) -> Any:
        self.record(
            EndpointServiceClient, "create_endpoint", {"parent": parent, "endpoint": endpoint}
        )
        created = gca_endpoint.Endpoint(endpoint)
        created.name = f"{parent}/endpoints/{len(self._endpoints) + 1}"
        self._endpoints[created.name] = created
        return _Operation(f"{created.name}/operations/dry-run", created)

    def get_endpoint(self, *, name: str, **kwargs: Any) -> Any:
        if name not in self._endpoints:
            raise NetworkCallBlocked(f"dry run: endpoint {name} was not created in this run")
        return self._endpoints[name]

    def get_model(self, *, name: str, **kwargs: Any) -> Any:
        """The registered model a deploy or a batch prediction reads (a stand-in: the dry run
        cannot look it up); it takes dedicated machines, as a custom-trained model does."""
        resources = gca_model.Model.DeploymentResourcesType.DEDICATED_RESOURCES
        return gca_model.Model(
            name=name, display_name="dry-run", supported_deployment_resources_types=[resources]
        )

    def pipeline_bucket(self, *, output_artifacts_gcs_dir: str, **kwargs: Any) -> None:
        """A pipeline run first makes sure its root's bucket exists (a Cloud Storage call)."""
        self.requests.append(
            {
                "method": "Storage.create_bucket_for_pipeline_artifacts_if_it_does_not_exist",
                "request": {"output_artifacts_gcs_dir": output_artifacts_gcs_dir},
            }
        )

    def import_data(self, *, name: str, import_configs: Any, **kwargs: Any) -> Any:
        self.record(
            DatasetServiceClient, "import_data", {"name": name, "import_configs": import_configs}
        )
        return _Operation(f"{name}/operations/dry-run-import")


def _as_method(function: Callable[..., Any]) -> Callable[..., Any]:
    """A plain function to patch onto a client class (the client instance is dropped)."""

    def method(_client: Any, *args: Any, **kwargs: Any) -> Any:
        return function(*args, **kwargs)

    return method


def _blocked(*args: Any, **kwargs: Any) -> Any:
    raise NetworkCallBlocked(
        "dry run: the SDK tried a Google Cloud call that the dry run does not record; "
        "nothing was sent"
    )


@contextlib.contextmanager
def recording() -> Iterator[Recorder]:
    """Patch the Vertex AI clients for the duration of a dry run."""
    recorder = Recorder()
    patches = [
        mock.patch.object(client, name, recorder.stopper(client, name))
        for client, names in STARTS_WORK.items()
        for name in names
    ]
    patches += [
        mock.patch.object(DatasetServiceClient, name, _as_method(getattr(recorder, name)))
        for name in ("create_dataset", "get_dataset", "import_data")
    ]
    patches += [
        mock.patch.object(EndpointServiceClient, name, _as_method(getattr(recorder, name)))
        for name in ("create_endpoint", "get_endpoint")
    ]
    patches += [
        mock.patch.object(ModelServiceClient, "get_model", _as_method(recorder.get_model)),
        mock.patch.object(
            gcs_utils,
            "create_gcs_bucket_for_pipeline_artifacts_if_it_does_not_exist",
            recorder.pipeline_bucket,
        ),
    ]
    patches += [
        # Safety nets: any other gRPC or REST call would go to the network.
        mock.patch.object(gapic_method._GapicCallable, "__call__", _blocked),
        mock.patch.object(auth_requests.AuthorizedSession, "request", _blocked),
    ]
    # The SDK logs progress to stdout; a dry run prints only its JSON there.
    logging.disable(logging.INFO)
    with contextlib.ExitStack() as stack:
        for patch in patches:
            stack.enter_context(patch)
        try:
            yield recorder
        finally:
            logging.disable(logging.NOTSET)


def until_sent(call: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Run an SDK call that should send a request; return once it was recorded."""
    try:
        call(*args, **kwargs)
    except RequestCaptured:
        return
    raise NetworkCallBlocked(f"dry run: {call!r} returned without sending a request")
