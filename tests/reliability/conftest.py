"""Fixtures of the reliability suite: each test reruns one reproduction of the red-team review
(docs/reliability.md lists them), as a user would run it: the real CLI in a subprocess, with a
private HOME, cache and data folder."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

EXAMPLE = REPO / "examples" / "tabular-sklearn.yml"
MEMORY_CAP = 1 << 30  # 1 GiB of address space: a bad input that expands fails loudly


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache for the tests that do not test the cache (so black runs once per file)."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture
def env(tmp_path: Path, shared_cache: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    return {
        "HOME": str(home),
        "XDG_CACHE_HOME": str(shared_cache),
        "XDG_DATA_HOME": str(home / "data"),
    }


def advisor(
    *args: str,
    env: dict[str, str],
    cwd: Path | None = None,
    umask: int | None = None,
    memory: int | None = MEMORY_CAP,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """The CLI in a subprocess, under a memory cap (and a umask when given)."""

    def limits() -> None:
        if memory:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        if umask is not None:
            os.umask(umask)

    return subprocess.run(
        [sys.executable, "-m", "advisor", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        cwd=cwd,
        timeout=timeout,
        preexec_fn=limits,
    )


def clean_exit(result: subprocess.CompletedProcess[str], code: int = 2) -> str:
    """The stderr of a run that ended with `code` and a message, not a traceback."""
    assert result.returncode == code, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    return result.stderr


@pytest.fixture(scope="session")
def made_project(tmp_path_factory: pytest.TempPathFactory, shared_cache: Path) -> Path:
    """A project generated from the tabular example, to copy (never changed itself)."""
    root = tmp_path_factory.mktemp("made")
    home = root / "home"
    home.mkdir()
    env = {"HOME": str(home), "XDG_CACHE_HOME": str(shared_cache)}
    result = advisor("new", "--answers", str(EXAMPLE), "--output", str(root / "p"), env=env)
    assert result.returncode == 0, result.stderr
    return root / "p"


@pytest.fixture
def project(made_project: Path, tmp_path: Path) -> Path:
    """A fresh copy of the generated project in this test's folder."""
    target = tmp_path / "proj"
    shutil.copytree(made_project, target, symlinks=True)
    return target


def tree_digest(root: Path) -> dict[str, bytes]:
    """Every file under `root` (links as their target text), to compare before and after."""
    found: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_symlink():
            found[rel] = b"-> " + os.readlink(path).encode()
        elif path.is_file():
            found[rel] = path.read_bytes()
    return found
