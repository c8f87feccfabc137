"""Every generated Python project ships a uv.lock that matches its pyproject.toml.

The locks come from templates/locks/store.json (scripts/update_locks.py writes it); uv itself
checks them here, offline and with an empty cache, so a pin changed without refreshing the store
fails."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from advisor.engine import default_ruleset
from advisor.errors import AdvisorError
from advisor.project import locks
from advisor.project.generate import build_project
from tests.conftest import REPO
from tests.helpers.answers import valid_value
from tests.helpers.targets import STACK_ANSWERS

UV = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
EXAMPLES = sorted((REPO / "examples").glob("*.yml"))


def uv_check(project: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """`uv lock --check` as CI would run it, but offline and with a cache of its own."""
    env = {**os.environ, "UV_CACHE_DIR": str(tmp_path / "uv-cache"), "UV_OFFLINE": "1"}
    return subprocess.run(
        [UV, "lock", "--check", "--offline"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def write_lock_files(files: dict[str, str], dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for rel in ("pyproject.toml", locks.LOCK_FILE):
        (dest / rel).write_text(files[rel], encoding="utf-8")
    return dest


def python_stacks() -> list[str]:
    return [
        stack
        for stack, answers in sorted(STACK_ANSWERS.items())
        if "pyproject.toml" in build_project(answers, "test").files
    ]


@pytest.mark.parametrize("stack", python_stacks())
def test_every_stack_ships_a_lock_uv_accepts(stack: str, tmp_path: Path) -> None:
    files = build_project(STACK_ANSWERS[stack], "test").files
    assert locks.LOCK_FILE in files, f"{stack}: no lock; run scripts/update_locks.py"
    project = write_lock_files(files, tmp_path / "p")
    result = uv_check(project, tmp_path)
    assert result.returncode == 0, result.stderr
    # the lock names this project, not the store's placeholder
    assert f'name = "{STACK_ANSWERS[stack]["project_name"]}"' in files[locks.LOCK_FILE]
    assert locks.PLACEHOLDER not in files[locks.LOCK_FILE]


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.stem for e in EXAMPLES])
def test_every_example_ships_its_lock(example: Path) -> None:
    generated = REPO / "generated_examples" / example.stem / "project"
    if (generated / "pyproject.toml").is_file():
        assert (generated / locks.LOCK_FILE).is_file(), example.stem
    else:
        assert not (generated / locks.LOCK_FILE).exists()


def test_a_changed_pin_gets_no_stale_lock_and_uv_rejects_the_old_one(tmp_path: Path) -> None:
    files = build_project(STACK_ANSWERS["scikit_learn"], "test").files
    pyproject = files["pyproject.toml"]
    changed = pyproject.replace('"pandas==', '"pandas>=', 1)
    assert changed != pyproject
    assert locks.lock_for(changed) is None  # the generator ships no lock that does not match
    project = write_lock_files(files | {"pyproject.toml": changed}, tmp_path / "p")
    result = uv_check(project, tmp_path)
    # uv finds the lock stale and must resolve again, which it cannot do offline
    assert result.returncode != 0
    assert "error:" in result.stderr, result.stderr


def test_the_store_gives_back_the_text_it_was_made_from(tmp_path: Path) -> None:
    lock = (
        'version = 1\nrevision = 3\nrequires-python = "==3.11.*"\n\n'
        '[[package]]\nname = "demo-job"\nversion = "0.1.0"\nsource = { virtual = "." }\n\n'
        '[[package]]\nname = "six"\nversion = "1.16.0"\n'
    )
    pyproject = '[project]\nname = "Demo_Job"\nversion = "0.1.0"\ndependencies = ["six==1.16.0"]\n'
    store = tmp_path / locks.STORE
    store.parent.mkdir()
    store.write_text(
        locks.store_text({locks.lock_key(pyproject): locks.generic_lock(lock, "demo-job")})
    )
    assert locks.lock_for(pyproject, tmp_path) == lock
    # comments and the name do not change the key; a dependency does
    renamed = pyproject.replace("Demo_Job", "other") + "# a comment\n"
    assert locks.lock_key(renamed) == locks.lock_key(pyproject)
    assert locks.lock_key(pyproject.replace("1.16.0", "1.17.0")) != locks.lock_key(pyproject)
    with pytest.raises(ValueError, match="no package block"):
        locks.generic_lock(lock, "another-project")


QUESTIONS = default_ruleset().questions.questions
valid_answers = st.fixed_dictionaries({}, optional={q.id: valid_value(q) for q in QUESTIONS})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_answers)
def test_any_answers_that_make_a_python_project_get_a_lock(raw: dict[str, Any]) -> None:
    """The store covers what users generate, not only the test table: scripts/update_locks.py's
    grid spans every answer that adds a dependency."""
    try:
        project = build_project(raw, "prop")
    except AdvisorError:
        assume(False)
        return
    if "pyproject.toml" in project.files:
        assert locks.LOCK_FILE in project.files, (project.stack, raw)
