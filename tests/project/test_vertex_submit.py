"""submit.py over every hardware and distribution target the engine can pick, with tuning and
Spot on and off, built by the real google-cloud-aiplatform SDK offline.

These tests render projects over a minimal hand-made trainer stack (a `trainer/task.py` with
`build_parser()` and a `hyperparameters.json` with a conditional parameter), so submit.py's
logic is checked on its own, quickly; test_vertex_stacks.py runs the same checks on the real
trainer stacks.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from advisor.project.render import render_project
from tests.helpers.gen import recommendation_for
from tests.helpers.targets import TARGETS, answers_for
from tests.helpers.vertex import (
    REPO,
    TRAINER_STACKS,
    check_custom_job,
    dry_run,
    job_parts,
    project_imports,
    run_main,
)

FIXTURE_TASK = '''"""A stand-in trainer: only its argument parser matters here."""

import argparse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="data/sample.csv")
    parser.add_argument("--learning_rate", type=float, default=0.01)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--optimizer", choices=["adam", "sgd"], default="adam")
    parser.add_argument("--beta_1", type=float, default=0.9)
    parser.add_argument("--momentum", type=float, default=0.0)
    parser.add_argument("--model_dir", default="outputs/model")
    return parser


def main() -> None:
    print(build_parser().parse_args())


if __name__ == "__main__":
    main()
'''
# The optimizer's own settings are conditional on it: nested under it, with parent_values.
FIXTURE_HPARAMS = """{% if answers.all_params_discrete %}
{"metric": {"id": "val_accuracy", "goal": "maximize"}, "parameters": [
  {"id": "batch_size", "type": "discrete", "values": [16, 32, 64], "scale": "linear"},
  {"id": "epochs", "type": "integer", "min": 1, "max": 4, "scale": "linear"},
  {"id": "optimizer", "type": "categorical", "values": ["adam", "sgd"], "conditional_parameters": [
    {"id": "momentum", "type": "discrete", "values": [0.0, 0.9], "scale": "linear",
     "parent_values": ["sgd"]}]}]}
{% else %}
{"metric": {"id": "val_loss", "goal": "minimize"}, "parameters": [
  {"id": "learning_rate", "type": "double", "min": 0.0001, "max": 0.1, "scale": "log"},
  {"id": "batch_size", "type": "discrete", "values": [16, 32, 64], "scale": "linear"},
  {"id": "optimizer", "type": "categorical", "values": ["adam", "sgd"], "conditional_parameters": [
    {"id": "beta_1", "type": "double", "min": 0.8, "max": 0.99, "scale": "reverse_log",
     "parent_values": ["adam"]},
    {"id": "momentum", "type": "double", "min": 0.0, "max": 0.99, "scale": "linear",
     "parent_values": ["sgd"]}]}]}
{% endif %}
"""

# Each target with four (tuning, spot) variants: between them every algorithm, early stopping
# on and off, and Spot on and off.
VARIANTS = [("none", False), ("random", True), ("grid", False), ("bayesian", True)]
CASES = [
    pytest.param(target, tuning, spot, id=f"{target[0]}-{tuning}{'-spot' if spot else ''}")
    for target in TARGETS
    for tuning, spot in VARIANTS
]


# The layers a stand-in trainer keeps: the trainer-specific ones (torch, ...) are dropped.
SHARED_LAYERS = {"base", "vertex", "custom_training"}


@pytest.fixture(scope="module")
def fixture_templates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """templates/ with every trainer stack replaced by the stand-in trainer."""
    root = tmp_path_factory.mktemp("templates") / "templates"
    shutil.copytree(REPO / "templates", root, ignore=shutil.ignore_patterns("__pycache__"))
    for stack in TRAINER_STACKS:
        folder = root / "stacks" / stack
        # the stack's manifest (selection, images, Docker recipe) over the shared layers only
        manifest = yaml.safe_load((folder / "stack.yaml").read_text())
        manifest["layers"] = [n for n in manifest["layers"] if n in SHARED_LAYERS]
        for own in ("facts", "only_if", "variables"):
            manifest.pop(own, None)
        shutil.rmtree(folder)
        (folder / "trainer").mkdir(parents=True)
        (folder / "stack.yaml").write_text(yaml.safe_dump(manifest))
        (folder / "trainer" / "task.py").write_text(FIXTURE_TASK)
        (folder / "trainer" / "hyperparameters.json.j2").write_text(FIXTURE_HPARAMS)
        (folder / "data").mkdir()
        (folder / "data" / "sample.csv").write_text("x1,x2,label\n0.1,0.2,0\n0.3,0.1,1\n")
        (folder / "requirements.txt").write_text(
            "numpy==2.4.6\npandas==3.1.1\ngcsfs==2026.10.1\ntensorflow-cpu==2.21.0\npytest==9.2.0\n"
        )
    return root


def render(rec: Any, root: Path, dest: Path) -> Path:
    for rel, text in render_project(rec, root).items():
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        (dest / rel).write_text(text)
    return dest


@pytest.mark.parametrize(("target", "tuning", "spot"), CASES)
def test_submit_dry_run_matches_the_recommendation(
    target: tuple[str, str, dict[str, Any], str, str],
    tuning: str,
    spot: bool,
    fixture_templates: Path,
    tmp_path: Path,
) -> None:
    _, framework, extra, hardware, distribution = target
    rec = recommendation_for(answers_for(framework, extra, tuning, spot))
    assert (rec.choice("hardware"), rec.choice("distribution")) == (hardware, distribution)
    assert (
        rec.choice("hp_search") == tuning if tuning != "none" else rec.choice("hp_search") == "none"
    )
    project = render(rec, fixture_templates, tmp_path)
    check_custom_job(dry_run(project), rec, project)


def with_hardware(rec: Any, **hardware: Any) -> Any:
    decisions = copy.deepcopy(rec.decisions)
    decisions["hardware"].update(hardware)
    return dataclasses.replace(rec, decisions=decisions)


@pytest.mark.parametrize("framework", ["tensorflow", "pytorch"])
def test_tpu_v5e_sends_a_topology_and_no_accelerator_type(
    framework: str, fixture_templates: Path, tmp_path: Path
) -> None:
    """v5e is not a rule's choice today; the template path for it is checked on a recommendation
    edited to pick ct5lp-hightpu-4t with a 2x2 topology."""
    extra = dict(TARGETS[5][2]) if framework == "tensorflow" else dict(TARGETS[13][2])
    rec = recommendation_for(answers_for(framework, extra, "none", False))
    rec = with_hardware(
        rec,
        machine_type="ct5lp-hightpu-4t",
        accelerator_type=None,
        accelerator_count=0,
        tpu_topology="2x2",
    )
    project = render(rec, fixture_templates, tmp_path)
    report = dry_run(project)
    check_custom_job(report, rec, project)
    _, pools, _ = job_parts(report)
    assert pools[0]["machine_spec"] == {"machine_type": "ct5lp-hightpu-4t", "tpu_topology": "2x2"}
    assert "FROM python:3.11-slim" in (project / "Dockerfile").read_text()


def test_identity_and_tensorboard_reach_the_job(fixture_templates: Path, tmp_path: Path) -> None:
    answers = answers_for("tensorflow", {}, "random", False) | {
        "service_account": "trainer@acme-ml.iam.gserviceaccount.com",
        "tensorboard": "projects/acme-ml/locations/europe-west4/tensorboards/123",
    }
    rec = recommendation_for(answers)
    project = render(rec, fixture_templates, tmp_path)
    check_custom_job(dry_run(project), rec, project)


def test_tensorboard_without_service_account_is_refused(
    fixture_templates: Path, tmp_path: Path
) -> None:
    rec = recommendation_for(answers_for("tensorflow", {}, "none", False))
    project = render(rec, fixture_templates, tmp_path)
    tensorboard = "projects/acme-ml/locations/europe-west4/tensorboards/1"
    code, out, err = run_main(project, "submit", "--dry-run", "--tensorboard", tensorboard)
    assert (code, out) == (2, "")
    assert "--tensorboard needs --service-account" in err


def test_grid_search_refuses_a_continuous_parameter(
    fixture_templates: Path, tmp_path: Path
) -> None:
    rec = recommendation_for(answers_for("scikit_learn", {}, "grid", False))
    project = render(rec, fixture_templates, tmp_path)
    hp = project / "trainer" / "hyperparameters.json"
    study = json.loads(hp.read_text())
    study["parameters"].append({"id": "learning_rate", "type": "double", "min": 0.1, "max": 1})
    hp.write_text(json.dumps(study))
    code, _, err = run_main(project, "submit", "--dry-run")
    assert code == 2
    assert "grid search takes only integer, categorical and discrete" in err
    assert "learning_rate" in err


def test_args_the_trainer_rejects_stop_the_submission(
    fixture_templates: Path, tmp_path: Path
) -> None:
    rec = recommendation_for(answers_for("pytorch", {}, "random", False))
    project = render(rec, fixture_templates, tmp_path)
    hp = project / "trainer" / "hyperparameters.json"
    study = json.loads(hp.read_text())
    study["parameters"].append({"id": "dropout", "type": "double", "min": 0.0, "max": 0.5})
    hp.write_text(json.dumps(study))
    code, _, err = run_main(project, "submit", "--dry-run")
    assert code == 2 and "trainer/task.py rejects" in err and "--dropout" in err


def test_the_trainer_package_installs_trainer_task(fixture_templates: Path, tmp_path: Path) -> None:
    """The uploaded source distribution holds trainer/ (with an __init__.py the renderer could
    not write), its data files and a setup.py naming the packages and requirements."""
    import tarfile

    rec = recommendation_for(answers_for("tensorflow", {}, "random", False))
    project = render(rec, fixture_templates, tmp_path / "p")
    code, out, _ = run_main(project, "submit", "--dry-run", "--container", "prebuilt")
    assert code == 0

    with project_imports(project):
        import submit  # type: ignore[import-not-found]

        archive = submit.build_package(tmp_path)
        again = submit.build_package(tmp_path)
    assert archive == again  # reproducible: the same content gives the same name
    assert json.loads(out)["package_uri"].endswith(archive.name)
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        base = names[0].split("/")[0]
        setup_py = tar.extractfile(f"{base}/setup.py").read().decode()  # type: ignore[union-attr]
    assert f"{base}/trainer/__init__.py" in names
    assert f"{base}/trainer/task.py" in names
    assert f"{base}/trainer/hyperparameters.json" in names
    assert "packages=['trainer']" in setup_py
    assert "'hyperparameters.json'" in setup_py
    # Requirements the image lacks, pinned for its Python 3.10; never the framework.
    pins = "['pandas==2.3.3', 'gcsfs==2026.10.1', 'cloudml-hypertune==0.1.0.dev6']"
    assert f"install_requires={pins}" in setup_py
    # pip installs it as the prebuilt image does, and `python -m trainer.task` then runs.
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(target),
            str(archive),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    assert (target / "trainer" / "hyperparameters.json").is_file()
    ran = subprocess.run(
        [sys.executable, "-m", "trainer.task", "--epochs=3"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(target)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ran.returncode == 0 and "epochs=3" in ran.stdout, ran.stderr


def test_a_real_submit_uploads_then_sends_the_dry_run_request(
    fixture_templates: Path, tmp_path: Path
) -> None:
    """`python submit.py` without --dry-run: the data and the package are uploaded to the URIs
    the request names, and the same create call goes out (stopped here, at the client)."""
    from unittest import mock

    import google.auth
    import google.auth.credentials
    from google.cloud import storage

    rec = recommendation_for(answers_for("xgboost", {}, "random", True))
    project = render(rec, fixture_templates, tmp_path)
    uploads: list[tuple[str, str]] = []

    def upload(blob: Any, filename: str, *args: Any, **kwargs: Any) -> None:
        uploads.append((f"gs://{blob.bucket.name}/{blob.name}", Path(filename).name))

    anonymous = google.auth.credentials.AnonymousCredentials()
    with (
        project_imports(project),
        mock.patch.object(storage.Blob, "upload_from_filename", upload),
        mock.patch.object(google.auth, "default", return_value=(anonymous, "acme-ml")),
    ):
        import submit  # type: ignore[import-not-found]
        import vertex_dry_run  # type: ignore[import-not-found]

        # a real submit runs a prebuilt image by its digest (`make pin-images` writes them)
        digest = "sha256:" + "0" * 64
        pins = {submit.prebuilt_repository("training"): digest}
        (project / submit.DIGESTS_FILE).write_text(json.dumps(pins), encoding="utf-8")
        with vertex_dry_run.recording() as recorder, pytest.raises(vertex_dry_run.RequestCaptured):
            submit.main(["--container", "prebuilt"])
    (sent,) = recorder.requests
    job = sent["request"]["hyperparameter_tuning_job"]
    code = job["trial_job_spec"]["worker_pool_specs"][0]["python_package_spec"]
    package_uri, data_arg = code["package_uris"][0], code["args"][0]
    assert uploads == [
        (data_arg.removeprefix("--data="), "sample.csv"),
        (package_uri, package_uri.rsplit("/", 1)[1]),
    ]
    assert package_uri.startswith("gs://acme-ml-staging/demo-job/packages/")
    assert job["trial_job_spec"]["worker_pool_specs"][0]["python_package_spec"][
        "executor_image_uri"
    ].endswith("@" + digest)


def test_best_trial_reads_a_finished_job(fixture_templates: Path, tmp_path: Path) -> None:
    """`python best_trial.py JOB`: the job is read through the SDK (the get call answered
    here) and the best SUCCEEDED trial by the study's metric and goal is printed."""
    from unittest import mock

    import google.auth
    import google.auth.credentials
    from google.cloud.aiplatform_v1.services.job_service import JobServiceClient
    from google.cloud.aiplatform_v1.types import custom_job, io, study
    from google.cloud.aiplatform_v1.types import hyperparameter_tuning_job as hpt_job

    rec = recommendation_for(answers_for("tensorflow", {}, "bayesian", False))
    project = render(rec, fixture_templates, tmp_path)
    assert json.loads((project / "trainer" / "hyperparameters.json").read_text())["metric"] == {
        "id": "val_loss",
        "goal": "minimize",
    }
    state = study.Trial.State

    def trial(trial_id: str, value: float, trial_state: Any = state.SUCCEEDED) -> Any:
        metrics = [
            study.Measurement.Metric(metric_id="val_accuracy", value=1 - value),
            study.Measurement.Metric(metric_id="val_loss", value=value),
        ]
        return study.Trial(
            id=trial_id,
            state=trial_state,
            final_measurement=study.Measurement(metrics=metrics),
            parameters=[study.Trial.Parameter(parameter_id="learning_rate", value=0.003)],
        )

    name = "projects/acme-ml/locations/europe-west4/hyperparameterTuningJobs/42"
    finished = hpt_job.HyperparameterTuningJob(
        name=name,
        trials=[trial("1", 0.40), trial("2", 0.05, state.INFEASIBLE), trial("3", 0.20)],
        trial_job_spec=custom_job.CustomJobSpec(
            base_output_directory=io.GcsDestination(output_uri_prefix="gs://acme-ml-staging/r/")
        ),
    )
    anonymous = google.auth.credentials.AnonymousCredentials()
    with (
        mock.patch.object(google.auth, "default", return_value=(anonymous, "acme-ml")),
        mock.patch.object(JobServiceClient, "get_hyperparameter_tuning_job", return_value=finished),
    ):
        code, out, err = run_main(project, "best_trial", name)
    assert code == 0, err
    assert json.loads(out) == {
        "trial_id": "3",
        "metric": {"val_loss": pytest.approx(0.2)},
        "parameters": {"learning_rate": pytest.approx(0.003)},
        "model_dir": "gs://acme-ml-staging/r/3/model/",
    }


def test_custom_container_path(fixture_templates: Path, tmp_path: Path) -> None:
    """--container custom runs the Dockerfile's image (no package); TPUs have no prebuilt one."""
    rec = recommendation_for(answers_for("pytorch", {}, "none", False))
    project = render(rec, fixture_templates, tmp_path / "gpu")
    image = "europe-west4-docker.pkg.dev/acme-ml/training/demo-job:v2"
    report = dry_run(project, "submit", "--container", "custom", "--image-uri", image)
    _, pools, _ = job_parts(report)
    assert report["container"] == "custom" and report["package_uri"] is None
    assert pools[0]["containerSpec"]["imageUri"] == image
    assert "python_package_spec" not in pools[0]

    tpu = recommendation_for(answers_for("tensorflow", TARGETS[5][2], "none", False))
    project = render(tpu, fixture_templates, tmp_path / "tpu")
    code, _, err = run_main(project, "submit", "--dry-run", "--container", "prebuilt")
    assert code == 2 and "no prebuilt training image for tensorflow on tpu" in err


def test_a_model_registers_only_with_the_version_it_trained_with(
    fixture_templates: Path, tmp_path: Path
) -> None:
    """xgboost-cpu.2-1 would load the pinned 3.x model and drop its intercept (audit A2): the
    model trains in the custom image by default and registers with the project's serving image,
    which installs the same pins; the prebuilt training image (2.1) trains a model it would not
    serve, so that job registers nothing and says why."""
    rec = recommendation_for(answers_for("xgboost", {}, "none", False))
    project = render(rec, fixture_templates, tmp_path / "xgb")
    default = dry_run(project, "submit")
    assert default["container"] == "custom" and default["package_uri"] is None
    assert default["serving_image_uri"].endswith("/training/demo-job-serving:no-commit")
    pipeline = default["requests"][0]["request"]["training_pipeline"]
    assert pipeline["model_to_upload"]["container_spec"]["image_uri"] == (
        default["serving_image_uri"]
    )
    prebuilt = dry_run(project, "submit", "--container", "prebuilt")
    assert prebuilt["serving_image_uri"] is None
    assert any("model not registered" in note for note in prebuilt["notes"])
    assert "model_to_upload" not in prebuilt["requests"][0]["request"]["training_pipeline"]
