"""Where the rules and templates live: inside the wheel, or beside the package in a checkout."""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _data_dir(name: str) -> Path:
    override = os.environ.get(f"ADVISOR_{name.upper()}_DIR")  # tests and rule authors
    if override:
        return Path(override)
    bundled = _PACKAGE / "_data" / name  # a wheel install (see pyproject force-include)
    if bundled.is_dir():
        return bundled
    return _PACKAGE.parent / name  # a source checkout or an editable install


def rules_dir() -> Path:
    return _data_dir("rules")


def templates_dir() -> Path:
    return _data_dir("templates")
