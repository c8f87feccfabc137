"""Every generated project is a CI-ready repository: pinned pyproject.toml, lint settings the
code satisfies, pre-commit hooks, and CI files that their schemas accept."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO
from tests.helpers.gen import render_to
from tests.helpers.targets import STACK_ANSWERS
from tests.helpers.vertex import dry_run, job_parts, pool_code

DEV_TOOLS = {"pytest", "black", "ruff", "pre-commit"}
# Every stack: the answer sets of the targets, and the Gemini route from its example.
ANSWERS = STACK_ANSWERS | {
    "foundation_model": yaml.safe_load(
        (REPO / "examples" / "reviews-gemini-tuning.yml").read_text()
    )
}


@pytest.fixture(scope="module", params=sorted(ANSWERS))
def project(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_to(ANSWERS[request.param], tmp_path_factory.mktemp(request.param))


def _pins(path: Path) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("-")]


def _name(pin: str) -> str:
    return pin.split("==", 1)[0].lower()


def test_pyproject_has_the_requirements_pins(project: Path) -> None:
    requirements = project / "requirements.txt"
    if not requirements.exists():  # a project with no Python code gets no pyproject either
        assert not (project / "pyproject.toml").exists()
        return
    meta = tomllib.loads((project / "pyproject.toml").read_text())
    deps = meta["project"]["dependencies"]
    dev = meta["project"]["optional-dependencies"]["dev"]
    assert sorted(deps + [p for p in dev if _name(p) in {"pytest"}]) == sorted(_pins(requirements))
    assert all("==" in pin for pin in deps + dev)
    assert {_name(p) for p in dev} >= DEV_TOOLS
    assert meta["tool"]["black"]["line-length"] == meta["tool"]["ruff"]["line-length"] == 100


@pytest.mark.parametrize("tool", [["black", "--check", "."], ["ruff", "check", "."]])
def test_code_passes_the_projects_own_lint_settings(project: Path, tool: list[str]) -> None:
    if not (project / "pyproject.toml").exists():
        assert not list(project.rglob("*.py")), "Python code without a pyproject.toml"
        return
    run = subprocess.run(
        [sys.executable, "-m", *tool], cwd=project, capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_pre_commit_runs_the_pinned_tools(project: Path) -> None:
    config_path = project / ".pre-commit-config.yaml"
    if not (project / "requirements.txt").exists():
        assert not config_path.exists()
        return
    hooks = {
        h["id"]: h
        for repo in yaml.safe_load(config_path.read_text())["repos"]
        for h in repo["hooks"]
    }
    assert {"ruff", "black", "tests"} <= set(hooks)
    assert hooks["tests"]["stages"] == ["pre-push"]


def _check_jsonschema() -> str:
    found = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent))
    found = found or shutil.which("check-jsonschema")
    assert found, "check-jsonschema is missing: pip install -e '.[test]'"
    return found


def test_ci_files_pass_their_schemas(project: Path) -> None:
    workflow = project / ".github" / "workflows" / "ci.yml"
    cloudbuild = project / "cloudbuild.yaml"
    if not (project / "requirements.txt").exists():  # nothing to install, test or submit
        assert not workflow.exists() and not cloudbuild.exists()
        return
    for schema, path in (("vendor.github-workflows", workflow), ("vendor.cloudbuild", cloudbuild)):
        run = subprocess.run(
            [_check_jsonschema(), "--builtin-schema", schema, str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert run.returncode == 0, run.stdout + run.stderr
    flow = yaml.safe_load(workflow.read_text())
    test_steps = [s.get("run") for s in flow["jobs"]["test"]["steps"]]
    assert test_steps[-3:] == ["make install", "make test", "make dry-run"]
    release = flow["jobs"]["release"]
    assert "refs/heads/main" in release["if"] and release["permissions"]["id-token"] == "write"
    build = yaml.safe_load(cloudbuild.read_text())
    assert "make test && make dry-run" in build["steps"][0]["args"][-1]
    text = workflow.read_text() + cloudbuild.read_text()
    assert "credentials_json" not in text and ":latest" not in text  # WIF, no keys; no tags
    if not (project / "Dockerfile").exists():  # a managed service: on main, `make submit`
        assert release["steps"][-1]["run"] == "make submit"
        assert "docker" not in text
        return
    assert text.count("--platform linux/amd64") == 2
    assert "$GITHUB_SHA" in text and "$COMMIT_SHA" in text
    assert "-docker.pkg.dev/acme-ml/training/demo-job" in text
    assert release["steps"][-1]["run"].startswith("python submit.py --container custom")


def test_readme_builds_amd64_images_tagged_with_the_commit(project: Path) -> None:
    readme = (project / "README.md").read_text()
    builds = [line for line in readme.splitlines() if "docker build" in line]
    assert all("--platform linux/amd64" in line and ":latest" not in line for line in builds)


def test_custom_image_is_tagged_with_the_commit(tmp_path: Path) -> None:
    project = render_to(STACK_ANSWERS["scikit_learn"], tmp_path / "project")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "generated"]):
        subprocess.run([*git, *args], cwd=project, check=True, capture_output=True)
    sha = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=project, capture_output=True, text=True
    ).stdout.strip()
    _, pools, _ = job_parts(dry_run(project, "submit", "--container", "custom"))
    image = pool_code(pools[0])[0]
    assert image == f"us-central1-docker.pkg.dev/acme-ml/training/demo-job:{sha}"


def test_update_brings_the_repository_files_to_an_older_project(tmp_path: Path) -> None:
    """A project generated before these files existed gets them; the user's edits stay."""
    import json

    from advisor.project.update import update_project

    project = render_to(STACK_ANSWERS["scikit_learn"], tmp_path / "project")
    new = [
        ".github/workflows/ci.yml",
        "cloudbuild.yaml",
        "pyproject.toml",
        ".pre-commit-config.yaml",
    ]
    record_path = project / ".advisor" / "base.json"
    record = json.loads(record_path.read_text())
    for rel in new:  # as an older advisor left it: neither on disk nor in the record
        (project / rel).unlink()
        del record["files"][rel]
    record_path.write_text(json.dumps(record))
    with (project / "Makefile").open("a") as makefile:
        makefile.write("\nmine:\n\techo kept\n")

    update_project(project)

    assert all((project / rel).is_file() for rel in new)
    assert "mine:\n\techo kept" in (project / "Makefile").read_text()
    assert "uv sync --frozen" in (project / "Makefile").read_text()


def test_every_action_is_pinned_by_commit(project: Path) -> None:
    workflow = project / ".github" / "workflows" / "ci.yml"
    if not workflow.exists():
        return
    uses = [
        s["uses"]
        for job in yaml.safe_load(workflow.read_text())["jobs"].values()
        for s in job["steps"]
        if "uses" in s
    ]
    assert uses and all(re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", u) for u in uses), uses
    # each pin says which release it is, on the same line
    lines = [line for line in workflow.read_text().splitlines() if "uses:" in line]
    assert all(re.search(r"@[0-9a-f]{40} # v\d+\.\d+\.\d+$", line) for line in lines), lines


def test_pip_install_gets_the_dev_group(project: Path) -> None:
    """Without uv, `make install` installs requirements-dev.txt: the pyproject's dependencies
    and its whole dev group, so `make lint` finds ruff and black."""
    if not (project / "requirements.txt").exists():
        assert not (project / "requirements-dev.txt").exists()
        return
    dev_file = project / "requirements-dev.txt"
    assert "-r requirements.txt" in dev_file.read_text().splitlines()
    meta = tomllib.loads((project / "pyproject.toml").read_text())
    group = meta["project"]["dependencies"] + meta["project"]["optional-dependencies"]["dev"]
    assert sorted(_pins(project / "requirements.txt") + _pins(dev_file)) == sorted(group)
    install = (project / "Makefile").read_text().split("\ninstall:", 1)[1].split("\n\n", 1)[0]
    assert "pip install -r requirements-dev.txt" in install and "uv sync" in install


def test_prebuilt_requirements_are_pinned_or_explained(project: Path) -> None:
    """Every package of requirements.txt is, for the prebuilt image's Python 3.10, either an
    exact pin or a comment saying why no pin applies; the job installs exactly the pins."""
    prebuilt = project / "requirements-prebuilt.txt"
    if not prebuilt.exists():
        return
    pinned, explained = [], []
    for line in prebuilt.read_text().splitlines():
        if not line.strip() or line.startswith("# ") and ":" not in line.split()[1]:
            continue  # blank, or the header's prose
        if line.startswith("#"):
            name, reason = line[2:].split(": ", 1)
            assert reason.strip(), line
            explained.append(name)
        else:
            pin = line.split("#", 1)[0].strip()
            assert re.fullmatch(r"[a-z0-9-]+==[0-9][\w.]*", pin), line
            pinned.append(pin)
    wanted = sorted(_name(p) for p in _pins(project / "requirements.txt"))
    assert sorted([_name(p) for p in pinned] + explained) == wanted
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, submit; print(json.dumps(submit.package_requirements()))",
        ],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == pinned


def test_prebuilt_images_run_by_the_digest_pin_images_writes(tmp_path: Path) -> None:
    """A real submit on the prebuilt image refuses the moving `latest` tag; `make pin-images`
    asks gcloud for each prebuilt image's digest, and the job then names the image by it. (The
    model's serving image is the project's own, so only the training image is pinned.)"""
    project = render_to(STACK_ANSWERS["scikit_learn"], tmp_path / "project")
    refused = subprocess.run(
        [sys.executable, "submit.py", "--container", "prebuilt"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode == 2 and "make pin-images" in refused.stderr, refused.stderr
    assert "Traceback" not in refused.stderr
    digest = "sha256:" + "ab" * 32
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    gcloud = bin_dir / "gcloud"  # stands in for the registry: prints one digest, logs the call
    gcloud.write_text(f'#!/bin/sh\necho "$@" >> "{tmp_path}/calls"\necho {digest}\n')
    gcloud.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    pin = subprocess.run(
        [sys.executable, "submit.py", "--pin-images"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert pin.returncode == 0, pin.stderr
    table = json.loads((project / "image-digests.json").read_text())
    training = "us-docker.pkg.dev/vertex-ai/training/sklearn-cpu.1-6"
    assert table == {training: digest}
    calls = (tmp_path / "calls").read_text().splitlines()
    assert calls[0] == (
        f"artifacts docker images describe {training}:latest --format=value(image_summary.digest)"
    )
    report = dry_run(project, "submit", "--container", "prebuilt")
    assert report["image_uri"] == f"{training}@{digest}"
    assert not any("pin-images" in note for note in report.get("notes", []))


@pytest.mark.slow
def test_make_install_from_the_lock_then_test_lint_and_dry_run_pass(tmp_path: Path) -> None:
    """What the project's CI runs, from nothing: `make install` syncs a fresh .venv from the
    shipped uv.lock (PyPI, a cache of its own), then `make test`, `make lint` and `make dry-run`
    pass with that venv, which the Makefile picks by itself. The scikit-learn stack: the one
    `make demo` generates."""
    project = render_to(
        yaml.safe_load((REPO / "examples" / "tabular-sklearn.yml").read_text()), tmp_path / "p"
    )
    assert (project / "uv.lock").is_file()
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",  # uv
        "UV_CACHE_DIR": str(tmp_path / "uv-cache"),
        "OMP_NUM_THREADS": "1",
    }
    # under a parent make (CI runs `make test`) MAKEFLAGS/MAKELEVEL would leak in and
    # make would print "Entering directory" lines
    for inherited in ("VIRTUAL_ENV", "MAKEFLAGS", "MAKELEVEL", "MFLAGS"):
        env.pop(inherited, None)
    for target in ("install", "test", "lint", "dry-run"):
        if target == "test":  # after make install, the targets use .venv with no PYTHON= given
            shown = subprocess.run(
                ["make", "--no-print-directory", "-n", "test"],
                cwd=project,
                env=env,
                capture_output=True,
                text=True,
            )
            assert shown.stdout.startswith(".venv/bin/python -m pytest"), shown.stdout
        run = subprocess.run(
            ["make", "-s", target],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert run.returncode == 0, (target, run.stdout[-3000:], run.stderr[-3000:])
    # the venv holds the locked versions, not whatever PyPI has newest
    lock = tomllib.loads((project / "uv.lock").read_text())
    locked = {p["name"]: p["version"] for p in lock["package"] if "version" in p}
    installed = subprocess.run(
        [
            str(project / ".venv/bin/python"),
            "-c",
            "import importlib.metadata as m, json;"
            "print(json.dumps({d.metadata['Name'].lower(): d.version for d in m.distributions()}))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    versions = json.loads(installed.stdout)
    assert versions["scikit-learn"] == locked["scikit-learn"]
    assert versions["pandas"] == locked["pandas"]
