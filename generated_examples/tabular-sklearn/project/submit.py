"""Submit the training job to Vertex AI with google-cloud-aiplatform 2.7.

    python submit.py --dry-run   # print the requests as JSON: no credentials, no network
    python submit.py             # build and upload the trainer package, then create the job

The settings below come from the recommendation (README.md says why each was chosen); the
flags override the data, container and identity settings. A dry run builds every request with
the real SDK and prints it (see vertex_dry_run.py); a real run sends the same requests.
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import hashlib
import io
import json
import re
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent

# ---- from the recommendation ------------------------------------------------------------
PROJECT = "my-gcp-project"
REGION = "us-central1"
BUCKET = "gs://my-ml-bucket"
JOB_NAME = "churn-sklearn"
FRAMEWORK = "scikit_learn"
DISTRIBUTION = "none"
MACHINE_TYPE = "n1-standard-4"
ACCELERATOR_TYPE = None
ACCELERATOR_COUNT = 0
# Machines in the training cluster: the chief (pool 0) plus REPLICA_COUNT - 1 workers (pool 1).
REPLICA_COUNT = 1
TPU_TOPOLOGY = None
PARAMETER_SERVER_COUNT = 0
PARAMETER_SERVER_MACHINE_TYPE = None
SPOT = False
TUNING: dict[str, Any] | None = {
    "search_algorithm": "grid",  # None = Vizier default
    "max_trial_count": 12,
    "parallel_trial_count": 4,
    "early_stopping": False,
}
SERVICE_ACCOUNT = ""
TENSORBOARD = ""
# Where the job may read its data: Cloud Storage, and for a table of features BigQuery too (the
# trainer reads bq://project.dataset.table with the Storage Read API; the job's service account
# needs roles/bigquery.readSessionUser and read access to the table).
DATA_SCHEMES = ("gs://", "bq://")
# Vertex AI Experiments: the trainer logs its params and metrics to a run of this experiment.
EXPERIMENT = ""
# -------------------------------------------------------------------------------------------

# Prebuilt training images (us/europe/asia-docker.pkg.dev/vertex-ai/training/<name>), the newest
# of each framework; they run Python 3.10. The name carries the framework version; Google
# publishes each only as `:latest`, a tag that moves with patches, so a real job runs the image
# by the digest that `make pin-images` resolves and writes to image-digests.json. Check the
# end-of-availability dates at
# https://cloud.google.com/vertex-ai/docs/training/pre-built-containers before relying on one.
# TPUs have none current (tf-tpu.2-15 and pytorch-tpu.2-2 reached end of availability in
# 2025, and v5e never had one): they train in the custom container built from the Dockerfile.
TRAINING_IMAGES: dict[tuple[str, str], str] = {
    ("scikit_learn", "cpu"): "sklearn-cpu.1-6",
}
# A prebuilt prediction image, where one runs the exact framework version the model trains with.
SERVING_IMAGES: dict[str, str] = {}
# The Dockerfile of the serving image the project builds when no prebuilt one runs its pins. It
# installs requirements.txt, so it runs the scikit-learn pin that the custom training image
# (Dockerfile) trains with; the prebuilt training images carry an older version (`advisor rules
# check` proves both), so a model to be served trains in the custom image.
SERVING_CONTAINER = "Dockerfile.serve"
SERVING_PORT, HEALTH_ROUTE, PREDICT_ROUTE = 8080, "/health", "/predict"
# What the job installs on a prebuilt image beside the trainer: requirements-prebuilt.txt holds
# pins published for the image's Python 3.10, and names what the image already has.
PREBUILT_REQUIREMENTS = "requirements-prebuilt.txt"
HYPERTUNE_PIN = "cloudml-hypertune==0.1.0.dev6"
# The digests of the prebuilt images (`make pin-images`); the only tag Google publishes for them.
DIGESTS_FILE = "image-digests.json"
PUBLISHED_TAG = "latest"
# A custom image built outside a git checkout has no commit to be tagged with.
NO_COMMIT = "no-commit"
ARTIFACT_REPOSITORY = "training"
DISK = {"boot_disk_type": "pd-ssd", "boot_disk_size_gb": 100}
TPU_MACHINE_PREFIXES = ("cloud-tpu", "ct5lp-", "ct6e-", "tpu7x-")


class SubmitError(Exception):
    """A setting that cannot work; reported with exit code 2."""


@dataclass
class Plan:
    """Everything the job needs, decided before the SDK is called."""

    kind: str  # "training_job", "custom_job" (parameter servers) or "tuning_job"
    container: str  # "prebuilt" (Python package on a Vertex image) or "custom" (Dockerfile)
    image_uri: str
    args: list[str]
    env: dict[str, str]
    base_output_dir: str
    data_uri: str
    data_upload: Path | None
    package_uri: str | None = None
    package_path: Path | None = None
    serving_image_uri: str | None = None
    study: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)


def registry_prefix(region: str) -> str:
    """The multi-region Artifact Registry host of the prebuilt images nearest to a region."""
    if region.startswith(("europe-", "me-", "africa-")):
        return "europe"
    if region.startswith(("asia-", "australia-")):
        return "asia"
    return "us"


def is_tpu() -> bool:
    return MACHINE_TYPE.startswith(TPU_MACHINE_PREFIXES)


def device() -> str:
    if is_tpu():
        return "tpu"
    return "gpu" if ACCELERATOR_TYPE else "cpu"


def prebuilt_repository(kind: str = "training") -> str | None:
    """The prebuilt image's name without tag or digest, or None where the stack has none."""
    table = TRAINING_IMAGES if kind == "training" else SERVING_IMAGES
    key: Any = (FRAMEWORK, device()) if kind == "training" else FRAMEWORK
    name = table.get(key)
    if name is None:
        return None
    return f"{registry_prefix(REGION)}-docker.pkg.dev/vertex-ai/{kind}/{name}"


def pinned_digests() -> dict[str, str]:
    path = ROOT / DIGESTS_FILE
    if not path.exists():
        return {}
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise SubmitError(f"{DIGESTS_FILE}: not JSON ({exc}); run make pin-images again") from None
    if not isinstance(table, dict) or not all(
        isinstance(v, str) and re.fullmatch(r"sha256:[0-9a-f]{64}", v) for v in table.values()
    ):
        raise SubmitError(f"{DIGESTS_FILE}: each value must be a sha256:<64 hex> digest")
    return table


def prebuilt_image(kind: str = "training") -> str | None:
    """The prebuilt image by its pinned digest; unpinned, by the tag Google publishes."""
    repository = prebuilt_repository(kind)
    if repository is None:
        return None
    digest = pinned_digests().get(repository)
    return f"{repository}@{digest}" if digest else f"{repository}:{PUBLISHED_TAG}"


def pin_images() -> dict[str, str]:
    """Resolve the digest each prebuilt image of this project has now (gcloud) and write them."""
    table = {}
    for kind in ("training", "prediction"):
        repository = prebuilt_repository(kind)
        if repository is None:
            continue
        command = [
            "gcloud",
            "artifacts",
            "docker",
            "images",
            "describe",
            f"{repository}:{PUBLISHED_TAG}",
            "--format=value(image_summary.digest)",
        ]
        try:
            out = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        except (OSError, subprocess.SubprocessError) as exc:
            raise SubmitError(f"pin-images: {' '.join(command)} failed: {exc}") from None
        digest = out.stdout.strip()
        if out.returncode != 0 or not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
            raise SubmitError(f"pin-images: {' '.join(command)}: {out.stderr.strip() or digest}")
        table[repository] = digest
    (ROOT / DIGESTS_FILE).write_text(json.dumps(table, indent=2) + "\n", encoding="utf-8")
    return table


def image_tag() -> str:
    """The commit the image is built from, as the README and CI tag it (NO_COMMIT outside git:
    a real submit then asks for a commit or --image-uri)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return NO_COMMIT
    tag = out.stdout.strip()
    return tag if out.returncode == 0 and tag else NO_COMMIT


def custom_image_uri(suffix: str = "") -> str:
    image = f"{REGION}-docker.pkg.dev/{PROJECT}/{ARTIFACT_REPOSITORY}/{JOB_NAME}{suffix}"
    return f"{image}:{image_tag()}"


def served_from(container: str) -> bool:
    """Whether a model trained in `container` ("prebuilt" or "custom") is registered: only with
    a serving image that runs the framework version it was trained with."""
    if SERVING_CONTAINER:
        return container == "custom"
    return bool(SERVING_IMAGES)


def serving_image() -> str | None:
    """The prebuilt prediction image, else the one the project builds (SERVING_CONTAINER)."""
    if SERVING_CONTAINER:
        return custom_image_uri("-serving")
    return prebuilt_image("prediction")


def serving_container(image_uri: str | None) -> dict[str, Any]:
    """The model's serving container settings (the SDK's model_serving_container_* arguments)."""
    settings: dict[str, Any] = {"model_serving_container_image_uri": image_uri}
    if image_uri and SERVING_CONTAINER:
        settings |= {
            "model_serving_container_predict_route": PREDICT_ROUTE,
            "model_serving_container_health_route": HEALTH_ROUTE,
            "model_serving_container_ports": [SERVING_PORT],
        }
    return settings


def machine_spec(machine_type: str = MACHINE_TYPE, with_accelerator: bool = True) -> dict:
    spec: dict[str, Any] = {"machine_type": machine_type}
    if with_accelerator and ACCELERATOR_TYPE:
        spec["accelerator_type"] = ACCELERATOR_TYPE
        spec["accelerator_count"] = ACCELERATOR_COUNT
    if with_accelerator and TPU_TOPOLOGY:
        spec["tpu_topology"] = TPU_TOPOLOGY
    return spec


def worker_count() -> int:
    """Replicas of pool 1. ParameterServerStrategy needs at least one worker besides the chief."""
    workers = REPLICA_COUNT - 1
    if PARAMETER_SERVER_COUNT:
        workers = max(workers, 1)
    return workers


def worker_pool_specs(plan: Plan) -> list[dict[str, Any]]:
    """Pool 0: the chief (one replica); 1: workers; 2: parameter servers (CustomJob form)."""
    if plan.container == "prebuilt":
        code: dict[str, Any] = {
            "python_package_spec": {
                "executor_image_uri": plan.image_uri,
                "package_uris": [plan.package_uri],
                "python_module": "trainer.task",
                "args": plan.args,
                "env": [{"name": k, "value": v} for k, v in plan.env.items()],
            }
        }
    else:
        code = {
            "container_spec": {
                "image_uri": plan.image_uri,
                "args": plan.args,
                "env": [{"name": k, "value": v} for k, v in plan.env.items()],
            }
        }
    pools = [{"machine_spec": machine_spec(), "replica_count": 1, "disk_spec": DISK, **code}]
    if worker_count():
        pools.append(
            {"machine_spec": machine_spec(), "replica_count": worker_count(), "disk_spec": DISK}
            | code
        )
    if PARAMETER_SERVER_COUNT:
        ps_machine = machine_spec(PARAMETER_SERVER_MACHINE_TYPE or MACHINE_TYPE, False)
        pools.append(
            {"machine_spec": ps_machine, "replica_count": PARAMETER_SERVER_COUNT, "disk_spec": DISK}
            | code
        )
    return pools


# ---- the trainer package (prebuilt containers install it with pip) ----------------------


def package_requirements() -> list[str]:
    """The pinned lines of requirements-prebuilt.txt (versions for the images' Python 3.10; the
    custom container installs requirements.txt's own pins instead)."""
    path = ROOT / PREBUILT_REQUIREMENTS
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    pins = [line.split("#", 1)[0].strip() for line in lines]
    pins = [pin for pin in pins if pin]
    unpinned = [pin for pin in pins if "==" not in pin]
    if unpinned:
        raise SubmitError(
            f"{PREBUILT_REQUIREMENTS}: {', '.join(unpinned)} has no exact pin (name==version); "
            "pin a version published for Python 3.10, or comment the line with the reason"
        )
    if TUNING and not any(pin.startswith("cloudml-hypertune==") for pin in pins):
        pins.append(HYPERTUNE_PIN)
    return pins


def build_package(dest: Path) -> Path:
    """A reproducible source distribution of trainer/ (fixed mtimes, sorted entries)."""
    dist = f"{JOB_NAME.replace('-', '_')}_trainer"
    base = f"{dist}-0.1"
    sources = sorted(
        p
        for p in (ROOT / "trainer").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    )
    if not (ROOT / "trainer" / "task.py").exists():
        raise SubmitError("trainer/task.py is missing: the job runs python -m trainer.task")
    # Every folder with Python modules is a package; one without __init__.py (a namespace
    # package) gets an empty one in the archive, since setuptools installs regular packages.
    package_dirs = sorted({p.parent for p in sources if p.suffix == ".py"})
    packages = [d.relative_to(ROOT).as_posix().replace("/", ".") for d in package_dirs]
    inits = [d / "__init__.py" for d in package_dirs if not (d / "__init__.py").exists()]
    package_data: dict[str, list[str]] = {}
    for p in sources:
        if p.suffix != ".py":
            owner = p.parent
            while owner not in package_dirs and owner != ROOT / "trainer":
                owner = owner.parent
            key = owner.relative_to(ROOT).as_posix().replace("/", ".")
            package_data.setdefault(key, []).append(p.relative_to(owner).as_posix())
    setup_py = (
        "from setuptools import setup\n\n"
        f"setup(\n    name={dist!r},\n    version='0.1',\n    packages={packages!r},\n"
        f"    package_data={package_data!r},\n"
        f"    install_requires={package_requirements()!r},\n)\n"
    )
    pkg_info = f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n"
    members = [(f"{base}/setup.py", setup_py.encode()), (f"{base}/PKG-INFO", pkg_info.encode())]
    members += [(f"{base}/{p.relative_to(ROOT).as_posix()}", p.read_bytes()) for p in sources]
    members += [(f"{base}/{p.relative_to(ROOT).as_posix()}", b"") for p in inits]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in sorted(members):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            tar.addfile(info, io.BytesIO(data))
    archive = gzip.compress(buffer.getvalue(), mtime=0)  # no timestamp in the gzip header
    path = dest / f"{base}-{hashlib.sha256(archive).hexdigest()[:12]}.tar.gz"
    path.write_bytes(archive)
    return path


# ---- hyperparameter tuning ---------------------------------------------------------------


def load_study() -> dict[str, Any]:
    path = ROOT / "trainer" / "hyperparameters.json"
    if not path.exists():
        raise SubmitError(f"{path}: missing; the tuning job reads its parameters from it")
    try:
        study = json.loads(path.read_text(encoding="utf-8"))
        metric = study["metric"]
        if metric["goal"] not in ("maximize", "minimize"):
            raise ValueError("metric.goal must be maximize or minimize")
        if not study["parameters"]:
            raise ValueError("parameters is empty")
    except (ValueError, KeyError, TypeError) as exc:
        raise SubmitError(f"{path}: {exc}") from None
    if TUNING and TUNING["search_algorithm"] == "grid":
        everything = _all_parameters(study["parameters"])
        continuous = [p["id"] for p in everything if p["type"] == "double"]
        if continuous:
            raise SubmitError(
                f"{path}: grid search takes only integer, categorical and discrete parameters; "
                f"{', '.join(continuous)} are double"
            )
    return study


def _all_parameters(parameters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for entry in parameters:
        found.append(entry)
        found += _all_parameters(entry.get("conditional_parameters", []))
    return found


def parameter_spec(entry: dict[str, Any]) -> Any:
    """One SDK parameter spec. A conditional child sits in its parent's
    `conditional_parameter_spec` with its own `parent_values` (the SDK's nesting)."""
    from google.cloud.aiplatform import hyperparameter_tuning as hpt

    extra: dict[str, Any] = {}
    children = {c["id"]: parameter_spec(c) for c in entry.get("conditional_parameters", [])}
    if children:
        extra["conditional_parameter_spec"] = children
    if "parent_values" in entry:
        extra["parent_values"] = entry["parent_values"]
    kind, scale = entry["type"], entry.get("scale", "linear")
    if kind == "double":
        return hpt.DoubleParameterSpec(min=entry["min"], max=entry["max"], scale=scale, **extra)
    if kind == "integer":
        return hpt.IntegerParameterSpec(min=entry["min"], max=entry["max"], scale=scale, **extra)
    if kind == "discrete":
        return hpt.DiscreteParameterSpec(values=entry["values"], scale=scale, **extra)
    if kind == "categorical":
        return hpt.CategoricalParameterSpec(values=[str(v) for v in entry["values"]], **extra)
    raise SubmitError(f"trainer/hyperparameters.json: parameter {entry['id']}: type {kind!r}")


def sample_value(entry: dict[str, Any]) -> Any:
    if entry["type"] in ("double", "integer"):
        return entry["min"]
    return entry["values"][0]


# ---- checks and the plan -----------------------------------------------------------------


def check_trainer_args(args: list[str], study: dict[str, Any] | None) -> bool:
    """Parse the job's args (and one value of each tuned flag) with the trainer's own parser,
    so a job never starts with a flag trainer/task.py rejects. False when it cannot be
    imported here (its framework is not installed in this environment)."""
    sys.path.insert(0, str(ROOT))
    try:
        from trainer.task import build_parser
    except ImportError as exc:
        print(f"submit.py: warning: trainer args not checked ({exc})", file=sys.stderr)
        return False
    finally:
        sys.path.remove(str(ROOT))
    tuned = _all_parameters(study["parameters"]) if study else []
    trial = [f"--{p['id']}={sample_value(p)}" for p in tuned]
    try:
        build_parser().parse_args(args + trial)
    except SystemExit:
        raise SubmitError(f"trainer/task.py rejects the job's args {args + trial}") from None
    return True


def default_data() -> tuple[str, Path | None]:
    """The bundled sample data, uploaded next to the job's outputs."""
    samples = sorted(
        p for p in (ROOT / "data").glob("*") if p.suffix in (".csv", ".parquet") and p.is_file()
    )
    if not samples:
        return f"{BUCKET}/{JOB_NAME}/data/train.csv", None
    return f"{BUCKET}/{JOB_NAME}/data/{samples[0].name}", samples[0]


def unpinned_images(plan: Plan) -> str:
    """Why the job's training image is not an immutable reference ("" when it is)."""
    if plan.image_uri.endswith(f":{PUBLISHED_TAG}"):
        return (
            f"{plan.image_uri} moves with each patch: run make pin-images (it writes the digest "
            f"to {DIGESTS_FILE}) or pass --image-uri IMAGE@sha256:..."
        )
    if plan.image_uri.endswith(f":{NO_COMMIT}"):
        return (
            "the custom image is tagged with the commit it is built from: commit in git first "
            "(README.md), or pass --image-uri"
        )
    return ""


def make_plan(options: argparse.Namespace) -> Plan:
    if options.tensorboard and not options.service_account:
        raise SubmitError("--tensorboard needs --service-account (Vertex AI requires both)")
    if is_tpu() and REPLICA_COUNT != 1:
        raise SubmitError("a TPU job has one worker pool with one replica; set the slice size")
    prebuilt = prebuilt_image()
    # The prebuilt image by default, unless the model it trains could not be served (another
    # framework version than the serving image's): then the custom image, with the pins.
    default = "prebuilt" if prebuilt and served_from("prebuilt") else "custom"
    container = options.container or default
    if container == "prebuilt" and prebuilt is None:
        raise SubmitError(f"no prebuilt training image for {FRAMEWORK} on {device()}: use custom")
    image = options.image_uri or (prebuilt if container == "prebuilt" else custom_image_uri())
    data_uri, upload = (options.data, None) if options.data else default_data()
    if not data_uri.startswith(DATA_SCHEMES):
        raise SubmitError(
            f"--data {data_uri}: the job reads its data from "
            + " or ".join(f"a {scheme} URI" for scheme in DATA_SCHEMES)
        )
    env = {"PJRT_DEVICE": "TPU"} if DISTRIBUTION == "pytorch_xla" else {}
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d-%H%M%S")
    study = load_study() if TUNING else None
    served = served_from(container) and serving_image() is not None
    kind = "tuning_job" if TUNING else ("custom_job" if PARAMETER_SERVER_COUNT else "training_job")
    args = [f"--data={data_uri}"]
    if options.experiment:
        # One run a job; the SDK in the trainer finds the project and region in the job's
        # environment (CLOUD_ML_PROJECT_ID, CLOUD_ML_REGION).
        args += [f"--experiment={options.experiment}", f"--experiment_run={JOB_NAME}-{stamp}"]
    plan = Plan(
        kind=kind,
        container=container,
        image_uri=image,
        args=args,
        env=env,
        base_output_dir=f"{BUCKET}/{JOB_NAME}/runs/{stamp}",
        data_uri=data_uri,
        data_upload=upload,
        serving_image_uri=serving_image() if served else None,
        study=study,
    )
    if not served:
        plan.notes.append(
            f"model not registered: the {container} training image runs another {FRAMEWORK}"
            " version than the serving image; train with --container custom to register it"
        )
    elif TUNING:
        plan.notes.append(
            "each trial writes a model; register the best one with"
            " `python best_trial.py JOB --register [--parent-model MODEL]`"
        )
    if unpinned_images(plan):
        plan.notes.append(f"a real submit stops here: {unpinned_images(plan)}")
    if not check_trainer_args(plan.args, study):
        plan.notes.append("trainer args not checked: trainer.task could not be imported")
    return plan


# ---- the SDK calls -----------------------------------------------------------------------


def scheduling_strategy() -> Any:
    from google.cloud.aiplatform.compat.types import custom_job as gca_custom_job

    return gca_custom_job.Scheduling.Strategy.SPOT if SPOT else None


def identity(options: argparse.Namespace) -> dict[str, Any]:
    return {
        "service_account": options.service_account or None,
        "tensorboard": options.tensorboard or None,
    }


def create_training_job(plan: Plan, options: argparse.Namespace) -> Any:
    """CustomPythonPackageTrainingJob (prebuilt image) or CustomContainerTrainingJob: the
    SDK splits REPLICA_COUNT into the chief and the workers and uploads the model."""
    from google.cloud import aiplatform

    serving = serving_container(plan.serving_image_uri)
    if plan.container == "prebuilt":
        job: Any = aiplatform.CustomPythonPackageTrainingJob(
            display_name=JOB_NAME,
            python_package_gcs_uri=plan.package_uri,
            python_module_name="trainer.task",
            container_uri=plan.image_uri,
            **serving,
        )
    else:
        job = aiplatform.CustomContainerTrainingJob(
            display_name=JOB_NAME, container_uri=plan.image_uri, **serving
        )
    accelerator = (
        {"accelerator_type": ACCELERATOR_TYPE, "accelerator_count": ACCELERATOR_COUNT}
        if ACCELERATOR_TYPE
        else {}
    )
    registry = {"parent_model": options.parent_model} if options.parent_model else {}
    return job.run(
        model_display_name=JOB_NAME if plan.serving_image_uri else None,
        **registry,
        base_output_dir=plan.base_output_dir,
        args=plan.args,
        environment_variables=plan.env or None,
        replica_count=REPLICA_COUNT,
        machine_type=MACHINE_TYPE,
        tpu_topology=TPU_TOPOLOGY,
        boot_disk_type=DISK["boot_disk_type"],
        boot_disk_size_gb=DISK["boot_disk_size_gb"],
        scheduling_strategy=scheduling_strategy(),
        sync=True,
        **accelerator,
        **identity(options),
    )


def custom_job(plan: Plan, display_name: str) -> Any:
    from google.cloud import aiplatform

    return aiplatform.CustomJob(
        display_name=display_name,
        worker_pool_specs=worker_pool_specs(plan),
        base_output_dir=plan.base_output_dir,
    )


def create_custom_job(plan: Plan, options: argparse.Namespace) -> Any:
    """Parameter servers need a third worker pool, which only CustomJob takes; a CustomJob
    uploads no model itself, so the chief's model is registered once the job succeeds."""
    job = custom_job(plan, JOB_NAME)
    job.run(scheduling_strategy=scheduling_strategy(), sync=True, **identity(options))
    if plan.serving_image_uri:
        upload_model(custom_job_model_dir(plan), options.parent_model)
    return job


def custom_job_model_dir(plan: Plan) -> str:
    """Where a CustomJob's chief writes the model: AIP_MODEL_DIR is <base_output_dir>/model/."""
    return f"{plan.base_output_dir.rstrip('/')}/model/"


def upload_model(model_dir: str, parent_model: str | None = None) -> Any:
    """Model.upload of a model folder with the serving container; with `parent_model`, a new
    version of that model in the Model Registry (best_trial.py registers trials with it)."""
    from google.cloud import aiplatform

    image = serving_image()
    if image is None:
        raise SubmitError(f"no serving image for {FRAMEWORK}")
    settings = serving_container(image)
    return aiplatform.Model.upload(
        display_name=JOB_NAME,
        artifact_uri=model_dir,
        parent_model=parent_model,
        serving_container_image_uri=image,
        serving_container_predict_route=settings.get("model_serving_container_predict_route"),
        serving_container_health_route=settings.get("model_serving_container_health_route"),
        serving_container_ports=settings.get("model_serving_container_ports"),
        sync=True,
    )


def tuning_job(plan: Plan) -> Any:
    """A HyperparameterTuningJob over a CustomJob (it cannot wrap a training job)."""
    from google.cloud import aiplatform
    from google.cloud.aiplatform.compat.types import study as gca_study

    assert plan.study is not None and TUNING is not None
    metric = plan.study["metric"]
    job = aiplatform.HyperparameterTuningJob(
        display_name=f"{JOB_NAME}-tuning",
        custom_job=custom_job(plan, f"{JOB_NAME}-trial"),
        metric_spec={metric["id"]: metric["goal"]},
        parameter_spec={p["id"]: parameter_spec(p) for p in plan.study["parameters"]},
        max_trial_count=TUNING["max_trial_count"],
        parallel_trial_count=TUNING["parallel_trial_count"],
        search_algorithm=TUNING["search_algorithm"],
    )
    if TUNING["early_stopping"]:
        # The SDK has no argument for automated early stopping; StudySpec has the field, and
        # the job sends the proto it holds, so it is set there. The decay-curve rule predicts
        # each trial's final metric from the values the trainer reports every epoch (with
        # global_step) and stops trials unlikely to beat the best so far.
        job._gca_resource.study_spec.decay_curve_stopping_spec = (
            gca_study.StudySpec.DecayCurveAutomatedStoppingSpec(use_elapsed_duration=False)
        )
    return job


def create_tuning_job(plan: Plan, options: argparse.Namespace) -> Any:
    job = tuning_job(plan)
    job.run(scheduling_strategy=scheduling_strategy(), sync=True, **identity(options))
    return job


CREATE = {
    "training_job": create_training_job,
    "custom_job": create_custom_job,
    "tuning_job": create_tuning_job,
}


def init(credentials: Any = None) -> None:
    from google.cloud import aiplatform

    aiplatform.init(
        project=PROJECT, location=REGION, staging_bucket=BUCKET, credentials=credentials
    )


def upload(local: Path, uri: str) -> None:
    from google.cloud import storage

    bucket, _, name = uri.removeprefix("gs://").partition("/")
    storage.Client(project=PROJECT).bucket(bucket).blob(name).upload_from_filename(str(local))
    shown = local.relative_to(ROOT) if local.is_relative_to(ROOT) else local.name
    print(f"uploaded {shown} to {uri}", file=sys.stderr)


def summary(plan: Plan) -> dict[str, Any]:
    return {
        "job": plan.kind,
        "container": plan.container,
        "image_uri": plan.image_uri,
        "package_uri": plan.package_uri,
        "data_uri": plan.data_uri,
        "data_upload": str(plan.data_upload.relative_to(ROOT)) if plan.data_upload else None,
        "base_output_dir": plan.base_output_dir,
        "serving_image_uri": plan.serving_image_uri,
        "spot": SPOT,
        "notes": plan.notes,
    }


def dry_run(plan: Plan, options: argparse.Namespace) -> dict[str, Any]:
    import vertex_dry_run

    with vertex_dry_run.recording() as recorder:
        init(credentials=vertex_dry_run.anonymous_credentials())
        vertex_dry_run.until_sent(CREATE[plan.kind], plan, options)
        if plan.kind == "custom_job" and plan.serving_image_uri:
            # the upload a real run sends once the job has succeeded
            vertex_dry_run.until_sent(
                upload_model, custom_job_model_dir(plan), options.parent_model
            )
    report = {"dry_run": True, **summary(plan), "requests": recorder.requests}
    if serving_image() is not None:
        import predict

        # What follows registration: an endpoint deploy and a batch prediction (predict.py).
        report["prediction"] = predict.dry_run_requests()
    if plan.kind == "tuning_job":
        report["study_spec"] = recorder.requests[-1]["request"]["hyperparameter_tuning_job"][
            "study_spec"
        ]
    return report


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="print the requests, send nothing")
    parser.add_argument(
        "--pin-images",
        action="store_true",
        help=f"resolve the prebuilt images' digests with gcloud and write {DIGESTS_FILE}",
    )
    parser.add_argument(
        "--data",
        help=" or ".join(DATA_SCHEMES) + " URI of the training data (default: upload data/)",
    )
    parser.add_argument(
        "--container",
        choices=["prebuilt", "custom"],
        help="prebuilt Vertex image with the trainer package, or the image built from the "
        "Dockerfile (default: prebuilt where one exists and trains the version the model is "
        "served with)",
    )
    parser.add_argument(
        "--image-uri", help=f"training image (default: {custom_image_uri()} " "for custom)"
    )
    parser.add_argument(
        "--parent-model",
        help="Model Registry resource name or id: register the trained model as its new version",
    )
    parser.add_argument("--service-account", default=SERVICE_ACCOUNT)
    parser.add_argument("--tensorboard", default=TENSORBOARD, help="TensorBoard resource name")
    parser.add_argument(
        "--experiment", default=EXPERIMENT, help="Vertex AI Experiments experiment (empty: none)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    try:
        if options.pin_images:
            print(json.dumps(pin_images(), indent=2))
            return 0
        plan = make_plan(options)
        with tempfile.TemporaryDirectory() as tmp:
            if plan.container == "prebuilt":
                plan.package_path = build_package(Path(tmp))
                plan.package_uri = f"{BUCKET}/{JOB_NAME}/packages/{plan.package_path.name}"
            if options.dry_run:
                print(json.dumps(dry_run(plan, options), indent=2, default=str))
                return 0
            unpinned = unpinned_images(plan)
            if unpinned:
                raise SubmitError(unpinned)
            if plan.data_upload is None and not options.data:
                raise SubmitError(
                    "no data: pass --data gs://..., or create the sample in data/ first "
                    "(make sample, or make train)"
                )
            if plan.data_upload is not None:
                upload(plan.data_upload, plan.data_uri)
            if plan.package_path is not None and plan.package_uri is not None:
                upload(plan.package_path, plan.package_uri)
            init()
            CREATE[plan.kind](plan, options)
    except SubmitError as exc:
        print(f"submit.py: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
