"""The package layers (.importlinter) hold, and a wrong-way import is caught."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(root / ".importlinter"), "--no-cache"],
        capture_output=True,
        text=True,
        cwd=root,
        env={"PATH": str(LINT_IMPORTS.parent), "PYTHONPATH": str(root)},
        timeout=300,
    )


def test_import_contracts_hold() -> None:
    result = _lint(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_wrong_way_import_breaks_the_contracts(tmp_path: Path) -> None:
    shutil.copytree(REPO / "advisor", tmp_path / "advisor", ignore=shutil.ignore_patterns("_data"))
    shutil.copy(REPO / ".importlinter", tmp_path / ".importlinter")
    engine = tmp_path / "advisor" / "engine" / "whatif.py"
    # Inside a function, as the package's lazy imports are: those count too.
    engine.write_text(
        engine.read_text() + "\n\ndef _wrong() -> None:\n    from advisor.cli import main\n"
    )
    result = _lint(tmp_path)
    assert result.returncode == 1
    assert "advisor.engine.whatif -> advisor.cli" in result.stdout


def _packages() -> dict[Path, str]:
    """Every module of advisor/, with the package (first level below advisor) it belongs to."""
    modules = {}
    for path in (REPO / "advisor").rglob("*.py"):
        parts = path.relative_to(REPO / "advisor").parts
        modules[path] = parts[0] if len(parts) > 1 else path.stem
    return modules


def test_no_module_imports_another_packages_private_names() -> None:
    offences = []
    for path, package in _packages().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom) or not (node.module or "").startswith(
                "advisor."
            ):
                continue
            target = node.module.split(".")[1]
            private = [a.name for a in node.names if a.name.startswith("_")]
            if target != package and private:
                offences.append(f"{path.relative_to(REPO)}: {node.module} {private}")
    assert offences == []
