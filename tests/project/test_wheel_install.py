"""A plain `pip install .` (not editable) into a fresh venv works: the wheel carries rules/ and
templates/, and the installed command runs from any folder."""

from __future__ import annotations

import json
import os
import subprocess
import venv
from pathlib import Path

import pytest

from tests.conftest import REPO


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("wheel")
    venv.create(root / "venv", with_pip=True)
    pip = root / "venv" / "bin" / "pip"
    subprocess.run([str(pip), "install", "-q", str(REPO)], check=True, timeout=600)
    return root / "venv" / "bin"


# The installed advisor must not see a checkout on PYTHONPATH (it would import that instead).
CLEAN_ENV = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}


def _run(bin_dir: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(bin_dir / "advisor"), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        env=CLEAN_ENV,
    )


@pytest.mark.slow
def test_wheel_carries_rules_and_templates(installed: Path, tmp_path: Path) -> None:
    python = installed / "python"
    code = "import advisor.paths as p; print(p.rules_dir()); print(p.templates_dir())"
    out = subprocess.run(
        [str(python), "-c", code], capture_output=True, text=True, cwd=tmp_path, env=CLEAN_ENV
    )
    rules, templates = out.stdout.split()
    assert "site-packages" in rules and Path(rules, "questions.yaml").is_file()
    assert "site-packages" in templates and Path(templates, "context.yaml").is_file()
    assert not Path(rules).is_relative_to(REPO)
    # everything, dotfiles (.github/, .pre-commit-config.yaml) included
    tracked = subprocess.run(
        ["git", "ls-files", "templates", "rules"], cwd=REPO, capture_output=True, text=True
    ).stdout.split()
    assert tracked
    installed_root = {"templates": Path(templates), "rules": Path(rules)}
    missing = [
        rel
        for rel in tracked
        if not installed_root[rel.split("/", 1)[0]].joinpath(rel.split("/", 1)[1]).is_file()
    ]
    assert not missing, missing[:10]


@pytest.mark.slow
def test_installed_recommend_and_rules_check(installed: Path, tmp_path: Path) -> None:
    answers = tmp_path / "answers.yml"
    answers.write_text("task: object_detection\nlabels: generic\n")
    result = _run(installed, "recommend", "--answers", str(answers), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["decisions"]["service"]["choice"] == "pretrained_api"
    check = _run(installed, "rules", "check", cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    version = _run(installed, "--version", cwd=tmp_path)
    assert version.stdout.startswith("advisor ")


@pytest.mark.slow
def test_installed_new_generates_a_project_whose_smoke_test_passes(
    installed: Path, tmp_path: Path
) -> None:
    import sys

    project = tmp_path / "project"
    answers = REPO / "examples" / "tabular-sklearn.yml"
    result = _run(
        installed, "new", "--answers", str(answers), "--output", str(project), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert (project / "trainer" / "task.py").is_file() and (project / "submit.py").is_file()
    assert (project / ".github" / "workflows" / "ci.yml").is_file()
    assert (project / "pyproject.toml").is_file() and (project / "cloudbuild.yaml").is_file()
    # The wheel's venv has only advisor; the generated project's tests run with the frameworks
    # of the test environment (what `make install` would give the project).
    smoke = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_smoke.py"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert smoke.returncode == 0, smoke.stdout[-3000:] + smoke.stderr[-2000:]
