"""Shared checks for the Vertex AI tests: valid machine/accelerator pairs, the prebuilt images,
and running a generated project's dry run in this process.

The tables encode shared/vertex-facts.md section 2 (machine types and the GPUs they take, TPU
shapes) and section 3 (the prebuilt training images), independently of the templates, so a
template that drifts from the documented pairs fails here.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from advisor.project.stacks import select_stack_manifest

# The project's own images carry the commit they are built from, or no-commit outside git.
COMMIT_TAGGED = re.compile(r"[^:]+:(no-commit|[0-9a-f]{7,40})")
# GPU -> (machine type pattern, allowed counts); None as counts = the count in the name.
N1_COUNTS = {
    "NVIDIA_TESLA_T4": {1, 2, 4},
    "NVIDIA_TESLA_V100": {1, 2, 4, 8},
    "NVIDIA_TESLA_P100": {1, 2, 4},
    "NVIDIA_TESLA_P4": {1, 2, 4},
}
N1_MACHINE = re.compile(r"^n1-(standard|highmem|highcpu)-(2|4|8|16|32|64|96)$")
FIXED_GPU_MACHINES: dict[str, dict[str, int]] = {
    "NVIDIA_TESLA_A100": {
        "a2-highgpu-1g": 1,
        "a2-highgpu-2g": 2,
        "a2-highgpu-4g": 4,
        "a2-highgpu-8g": 8,
        "a2-megagpu-16g": 16,
    },
    "NVIDIA_A100_80GB": {f"a2-ultragpu-{n}g": n for n in (1, 2, 4, 8)},
    "NVIDIA_L4": {
        **{f"g2-standard-{n}": 1 for n in (4, 8, 12, 16, 32)},
        "g2-standard-24": 2,
        "g2-standard-48": 4,
        "g2-standard-96": 8,
    },
    "NVIDIA_H100_80GB": {f"a3-highgpu-{n}g": n for n in (1, 2, 4, 8)},
    "NVIDIA_H100_MEGA_80GB": {"a3-megagpu-8g": 8},
    "NVIDIA_H200_141GB": {"a3-ultragpu-8g": 8},
    "NVIDIA_B200": {"a4-highgpu-8g": 8},
    "NVIDIA_GB200": {"a4x-highgpu-4g": 4},
}
TPU_V5E_TOPOLOGIES = {
    "ct5lp-hightpu-1t": {"1x1"},
    "ct5lp-hightpu-4t": {"2x2"},
    "ct5lp-hightpu-8t": {"2x4", "4x4", "4x8", "8x8", "8x16", "16x16"},
    # TPU v6e single-host machines (vertex-facts section 2: ct6e-standard-{1t,4t,8t})
    "ct6e-standard-1t": {"1x1"},
    "ct6e-standard-4t": {"2x2"},
    "ct6e-standard-8t": {"2x4"},
}
CPU_MACHINE = re.compile(r"^(n1|n2|n2d|e2|c2)-(standard|highmem|highcpu)-\d+$")

# Prebuilt training images (vertex-facts section 3): (framework, device) -> image name.
PREBUILT_TRAINING = {
    ("tensorflow", "cpu"): "tf-cpu.2-17.py310",
    ("tensorflow", "gpu"): "tf-gpu.2-17.py310",
    ("pytorch", "cpu"): "pytorch-xla.2-4.py310",
    ("pytorch", "gpu"): "pytorch-gpu.2-4.py310",
    ("pytorch_lightning", "cpu"): "pytorch-xla.2-4.py310",
    ("pytorch_lightning", "gpu"): "pytorch-gpu.2-4.py310",
    ("scikit_learn", "cpu"): "sklearn-cpu.1-6",
    ("xgboost", "cpu"): "xgboost-cpu.2-1",
    ("xgboost", "gpu"): "xgboost-gpu.2-1",
}
TRAINER_STACKS = (
    "tensorflow",
    "pytorch",
    "pytorch_lightning",
    "pytorch_xla",
    "scikit_learn",
    "xgboost",
)
REPO = Path(__file__).resolve().parents[2]


def machine_spec_problem(spec: dict[str, Any]) -> str | None:
    """Why a worker pool's machine spec is not a valid Vertex AI combination (None if it is)."""
    machine = spec.get("machine_type", "")
    accelerator = spec.get("accelerator_type") or "ACCELERATOR_TYPE_UNSPECIFIED"
    count = int(spec.get("accelerator_count") or 0)
    topology = spec.get("tpu_topology") or ""
    if machine == "cloud-tpu":
        if accelerator not in ("TPU_V2", "TPU_V3"):
            return f"cloud-tpu takes TPU_V2 or TPU_V3, not {accelerator}"
        if count != 8 and (count < 32 or count % 32):
            return f"cloud-tpu takes 8 cores or a multiple of 32, not {count}"
        return None
    if machine.startswith(("ct5lp-", "ct6e-")):
        if accelerator != "ACCELERATOR_TYPE_UNSPECIFIED" or count:
            return "TPU v5e takes a topology and no accelerator type or count"
        if topology not in TPU_V5E_TOPOLOGIES.get(machine, set()):
            return f"{machine} does not take topology {topology!r}"
        return None
    if topology:
        return f"tpu_topology {topology} on a non-TPU machine {machine}"
    if accelerator == "ACCELERATOR_TYPE_UNSPECIFIED":
        return None if CPU_MACHINE.match(machine) and not count else f"CPU machine {machine}"
    if accelerator in N1_COUNTS:
        if not N1_MACHINE.match(machine):
            return f"{accelerator} needs an n1 machine, not {machine}"
        return None if count in N1_COUNTS[accelerator] else f"{count} x {accelerator}"
    fixed = FIXED_GPU_MACHINES.get(accelerator)
    if fixed is None:
        return f"unknown accelerator {accelerator}"
    if machine not in fixed:
        return f"{accelerator} does not run on {machine}"
    return None if fixed[machine] == count else f"{machine} has {fixed[machine]} GPUs, not {count}"


def region_prefix(region: str) -> str:
    if region.startswith(("europe-", "me-", "africa-")):
        return "europe"
    if region.startswith(("asia-", "australia-")):
        return "asia"
    return "us"


def device_of(hardware: dict[str, Any]) -> str:
    if hardware["machine_type"].startswith(("cloud-tpu", "ct5lp-", "ct6e-", "tpu7x-")):
        return "tpu"
    return "gpu" if hardware.get("accelerator_type") else "cpu"


@contextlib.contextmanager
def project_imports(project: Path) -> Iterator[None]:
    """Import a generated project's modules (submit, trainer, ...) in this process, then
    forget them, so the next project's modules of the same names load fresh."""
    names = (
        "submit",
        "vertex_dry_run",
        "best_trial",
        "trainer",
        "serving",
        "call_api",
        "run",
        "predict",
        "pipeline",
    )

    def forget() -> None:
        for name in list(sys.modules):
            if name.split(".")[0] in names:
                del sys.modules[name]

    forget()
    # restored whole: a project module may add its root too (pipeline.py does), and a leftover
    # root's regular `trainer` package would shadow a later project's namespace one
    saved_path = list(sys.path)
    sys.path.insert(0, str(project))
    try:
        yield
    finally:
        sys.path[:] = saved_path
        forget()


def run_main(project: Path, module: str, *argv: str) -> tuple[int, str, str]:
    """`python <module>.py ARGV` of a generated project, in this process: (exit code, out, err)."""
    out, err = io.StringIO(), io.StringIO()
    with project_imports(project), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = importlib.import_module(module).main(list(argv))
    return code, out.getvalue(), err.getvalue()


def dry_run(project: Path, module: str = "submit", *argv: str) -> dict[str, Any]:
    code, out, err = run_main(project, module, "--dry-run", *argv)
    assert code == 0, err
    return json.loads(out)


XLA_PYTHON = REPO / ".venv-xla" / "bin" / "python"
PARSE_IN_XLA_VENV = (
    "import json, sys; sys.path.insert(0, sys.argv[1]); from trainer.task import build_parser; "
    "build_parser().parse_args(json.loads(sys.argv[2]))"
)


def parse_trainer_args(project: Path, args: list[str]) -> None:
    """Parse `args` with the generated trainer's own `build_parser()`; fails on a rejected
    flag. The PyTorch/XLA trainer imports torch_xla, which lives in .venv-xla (made by
    `make xla-venv`, which `make test` runs), so it is parsed there."""
    try:
        with project_imports(project):
            parser = importlib.import_module("trainer.task").build_parser()
    except ModuleNotFoundError as exc:
        assert exc.name == "torch_xla", exc
        assert XLA_PYTHON.exists(), "no .venv-xla: run `make xla-venv` (make test does)"
        result = subprocess.run(
            [str(XLA_PYTHON), "-c", PARSE_IN_XLA_VENV, str(project), json.dumps(args)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
        return
    parser.parse_args(args)


def ruff(paths: list[Path], cwd: Path | None = None) -> str:
    """ruff's findings on generated Python, with the project's own settings; "" when clean.

    Run from the project (`cwd`), its own packages sort as first-party imports."""
    if not paths:
        return ""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--isolated",
            "--line-length",
            "100",
            "--select",
            "E,F,W,I,B,UP,SIM",
            "--target-version",
            "py311",
            *map(str, paths),
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return "" if result.returncode == 0 else result.stdout


def project_tests(project: Path) -> str:
    """Run a generated project's own tests offline; "" when they pass, else pytest's output."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return "" if result.returncode == 0 else result.stdout[-3000:] or result.stderr[-3000:]


def stacks_present() -> list[str]:
    return [s for s in TRAINER_STACKS if (REPO / "templates" / "stacks" / s).is_dir()]


# ---- a custom-training dry run against its recommendation ------------------------------

ALGORITHMS = {None: "ALGORITHM_UNSPECIFIED", "grid": "GRID_SEARCH", "random": "RANDOM_SEARCH"}
VALUE_SPECS = {
    "double": "double_value_spec",
    "integer": "integer_value_spec",
    "categorical": "categorical_value_spec",
    "discrete": "discrete_value_spec",
}
SCALES = {
    "linear": "UNIT_LINEAR_SCALE",
    "log": "UNIT_LOG_SCALE",
    "reverse_log": "UNIT_REVERSE_LOG_SCALE",
}


def job_parts(report: dict[str, Any]) -> tuple[str, list[dict[str, Any]], dict[str, Any]]:
    """(method, worker pools, the job-level spec holding scheduling, identity and outputs)."""
    methods = [r["method"] for r in report["requests"]]
    method, body = report["requests"][0]["method"], report["requests"][0]["request"]
    # a CustomJob uploads no model itself: submit.py registers it once the job has succeeded
    registers = method == "JobService.create_custom_job" and report.get("serving_image_uri")
    assert methods == [method] + (["ModelService.upload_model"] if registers else []), methods
    if method == "PipelineService.create_training_pipeline":
        spec = body["training_pipeline"]["training_task_inputs"]
    elif method == "JobService.create_custom_job":
        spec = body["custom_job"]["job_spec"]
    else:
        assert method == "JobService.create_hyperparameter_tuning_job", method
        spec = body["hyperparameter_tuning_job"]["trial_job_spec"]
    return method, spec["worker_pool_specs"], spec


def pool_code(pool: dict[str, Any]) -> tuple[str, list[str], dict[str, str]]:
    """(image, args, env) of a pool, in the pipeline's Struct spelling or the proto's."""
    if "python_package_spec" in pool:
        code = pool["python_package_spec"]
        assert code["python_module"] == "trainer.task"
        assert len(code["package_uris"]) == 1 and code["package_uris"][0].endswith(".tar.gz")
        image = code["executor_image_uri"]
    else:
        code = pool.get("container_spec") or pool["containerSpec"]
        image = code.get("image_uri") or code["imageUri"]
    env = {item["name"]: item["value"] for item in code.get("env", [])}
    return image, list(code.get("args", [])), env


def sample_flags(parameters: list[dict[str, Any]]) -> list[str]:
    flags = []
    for p in parameters:
        value = p["min"] if p["type"] in ("double", "integer") else p["values"][-1]
        flags.append(f"--{p['id']}={value}")
        flags += sample_flags(p.get("conditional_parameters", []))
    return flags


def check_study(study: dict[str, Any], hp: dict[str, Any], decision: dict[str, Any]) -> None:
    """The study spec against trainer/hyperparameters.json and the hp_search decision."""
    metric = hp["metric"]
    assert study["metrics"] == [{"metric_id": metric["id"], "goal": metric["goal"].upper()}]
    assert study["algorithm"] == ALGORITHMS[decision.get("search_algorithm")]
    stopping = "decay_curve_stopping_spec" in study
    assert stopping == bool(decision.get("early_stopping")), study
    if stopping:
        assert study["decay_curve_stopping_spec"] == {"use_elapsed_duration": False}

    def check(specs: list[dict[str, Any]], params: list[dict[str, Any]]) -> None:
        assert [s["parameter_id"] for s in specs] == [p["id"] for p in params]
        for spec, param in zip(specs, params, strict=True):
            assert VALUE_SPECS[param["type"]] in spec, spec
            if param["type"] != "categorical":
                assert spec["scale_type"] == SCALES[param.get("scale", "linear")]
            if decision.get("search_algorithm") == "grid":
                assert param["type"] != "double"
            children = param.get("conditional_parameters", [])
            nested = spec.get("conditional_parameter_specs", [])
            assert len(nested) == len(children)
            for child, holder in zip(children, nested, strict=True):
                parents = next(v for k, v in holder.items() if k.startswith("parent_"))
                assert [str(v) for v in parents["values"]] == [
                    str(v) for v in child["parent_values"]
                ]
            check([h["parameter_spec"] for h in nested], children)

    check(study["parameters"], hp["parameters"])


def check_custom_job(report: dict[str, Any], rec: Any, project: Path) -> None:
    """Everything a custom-training dry run sent, against the recommendation."""
    data, answers = rec.to_json(), rec.answers
    d = data["decisions"]
    hw = d["hardware"]
    tuning = d["hp_search"]["choice"] in ("grid", "random", "bayesian")
    ps_count = hw.get("parameter_server_count") or 0
    method, pools, spec = job_parts(report)
    expected_method = (
        "JobService.create_hyperparameter_tuning_job"
        if tuning
        else (
            "JobService.create_custom_job"
            if ps_count
            else "PipelineService.create_training_pipeline"
        )
    )
    assert method == expected_method

    # Worker pools: chief, workers, parameter servers; TPUs one pool of one replica.
    workers = hw["replica_count"] - 1
    if ps_count:
        workers = max(workers, 1)
    assert [int(p["replica_count"]) for p in pools] == [1] + ([workers] if workers else []) + (
        [ps_count] if ps_count else []
    )
    device = device_of(hw)
    if device == "tpu":
        assert len(pools) == 1
    for index, pool in enumerate(pools):
        machine = pool["machine_spec"]
        assert machine_spec_problem(machine) is None, (machine_spec_problem(machine), machine)
        if ps_count and index == 2:
            assert machine["machine_type"] == hw["parameter_server_machine_type"]
            assert (machine.get("accelerator_type") or "ACCELERATOR_TYPE_UNSPECIFIED") == (
                "ACCELERATOR_TYPE_UNSPECIFIED"
            )
            continue
        assert machine["machine_type"] == hw["machine_type"]
        want = hw.get("accelerator_type") or "ACCELERATOR_TYPE_UNSPECIFIED"
        assert (machine.get("accelerator_type") or "ACCELERATOR_TYPE_UNSPECIFIED") == want
        assert int(machine.get("accelerator_count") or 0) == (hw.get("accelerator_count") or 0)
        assert (machine.get("tpu_topology") or None) == hw.get("tpu_topology")

    # The container: the project's own image (the pins its serving image runs) when the model is
    # registered with the serving container, and for TPUs; else the framework's prebuilt image.
    framework = d["framework"]["choice"]
    images = {pool_code(p)[0] for p in pools}
    assert len(images) == 1
    image = images.pop()
    serving = bool(select_stack_manifest(rec).images.get("serving_container"))
    if serving:
        assert COMMIT_TAGGED.fullmatch(report["serving_image_uri"]), report["serving_image_uri"]
        assert report["serving_image_uri"].startswith(
            f"{answers['region']}-docker.pkg.dev/{answers['gcp_project']}/training/"
            f"{answers['project_name']}-serving:"
        )
    if device == "tpu" or serving:
        assert report["container"] == "custom"
        # tagged with the commit it is built from (no-commit outside a git checkout)
        assert COMMIT_TAGGED.fullmatch(image), image
        assert image.startswith(
            f"{answers['region']}-docker.pkg.dev/{answers['gcp_project']}/training/"
            f"{answers['project_name']}:"
        )
    else:
        name = PREBUILT_TRAINING[(framework, device)]
        assert (
            image
            == f"{region_prefix(answers['region'])}-docker.pkg.dev/vertex-ai/training/{name}:latest"
        )

    # Args: the trainer's own parser accepts them (and one value of every tuned flag); env.
    hp = json.loads((project / "trainer" / "hyperparameters.json").read_text()) if tuning else None
    for pool in pools:
        _, args, env = pool_code(pool)
        assert any(a.startswith("--data=gs://") for a in args), args
        parse_trainer_args(project, args + (sample_flags(hp["parameters"]) if hp else []))
        assert "TF_CONFIG" not in env
        assert env == (
            {"PJRT_DEVICE": "TPU"} if d["distribution"]["choice"] == "pytorch_xla" else {}
        )

    # Outputs, scheduling, identity.
    bucket = answers["bucket"].rstrip("/")
    assert spec["base_output_directory"]["output_uri_prefix"].startswith(f"{bucket}/")
    spot = data["cost"].get("choice") == "spot"
    assert (spec.get("scheduling", {}).get("strategy") == "SPOT") == spot
    assert (spec.get("service_account") or "") == answers.get("service_account", "")
    assert (spec.get("tensorboard") or "") == answers.get("tensorboard", "")

    if tuning:
        body = report["requests"][0]["request"]["hyperparameter_tuning_job"]
        assert body["max_trial_count"] == d["hp_search"]["max_trial_count"]
        assert body["parallel_trial_count"] == d["hp_search"]["parallel_trial_count"]
        check_study(body["study_spec"], hp, d["hp_search"])
        assert report["study_spec"] == body["study_spec"]
