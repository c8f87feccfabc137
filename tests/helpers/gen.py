"""Test helper: generate a project for some answers into a folder, through the real pipeline.

`render_to` runs what `advisor new` runs (validation, engine, rendering, black, parse checks,
`.advisor-answers.yml`, the atomic move into place), so every stack's tests exercise it.
"""

from __future__ import annotations

import importlib.util
import sys
import uuid
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from advisor.engine import Recommendation, default_ruleset, recommend
from advisor.project.generate import generate_project
from advisor.ruleset.questions import validate_answers


def recommendation_for(answers: Mapping[str, Any]) -> Recommendation:
    ruleset = default_ruleset()
    return recommend(validate_answers(dict(answers), ruleset.questions, "test"), ruleset)


def render_to(answers: Mapping[str, Any], dest: Path) -> Path:
    """Generate the project for `answers` into `dest` (created, or written into) and return it."""
    generate_project(dict(answers), dest, force=True, origin="test")
    return dest


def import_generated(path: Path) -> ModuleType:
    """A generated project's module (e.g. trainer/data.py), imported under a unique name.

    Every project has its own `trainer` package: while the module runs its imports, `trainer`
    is that project's (its root first on sys.path, other projects' copies set aside)."""
    root = str(path.resolve().parent.parent)
    saved = {k: m for k, m in sys.modules.items() if k == "trainer" or k.startswith("trainer.")}
    for name in saved:
        del sys.modules[name]
    sys.path.insert(0, root)
    try:
        spec = importlib.util.spec_from_file_location(f"generated_{uuid.uuid4().hex}", path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up while it executes
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(root)
        for name in [k for k in sys.modules if k == "trainer" or k.startswith("trainer.")]:
            del sys.modules[name]
        sys.modules.update(saved)


def trainer_run(out: Path, *flags: str, python: str = sys.executable) -> list[str]:
    """The command of one local run of a generated trainer (`python -m trainer.task`), with its
    model, checkpoints and TensorBoard logs under `out`."""
    return [
        python,
        "-m",
        "trainer.task",
        f"--model_dir={out / 'model'}",
        f"--checkpoint_dir={out / 'checkpoints'}",
        f"--tensorboard_dir={out / 'logs'}",
        *flags,
    ]
