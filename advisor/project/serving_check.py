"""`rules check`, the serving part: every stack serves its model with the version it trained.

A stack that trains a model names the requirements.txt package of its framework
(`images.framework_package`); its pin is the version the custom training image installs. The
model's serving image must run that version: a prebuilt prediction image (`images.serving`) whose
catalogue version is the pin's, and whose prebuilt training images carry it too; or the project's
own serving container (`images.serving_container`), whose Dockerfile installs requirements.txt.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from advisor.project.stacks import Stack


def serving_problems(stack: Stack, containers: Mapping[str, Mapping[str, Any]]) -> list[str]:
    images = stack.images
    if not images.get("training") and not images.get("serving_container"):
        return []  # a stack without a trained model (AutoML, BigQuery ML, APIs)
    where = f"stack {stack.name}: images"
    package = images.get("framework_package")
    if not isinstance(package, str):
        return [
            f"{where}: framework_package is missing (the requirements.txt package of the model)"
        ]
    pin = _pin(stack, package)
    if pin is None:
        return [f"{where}: requirements.txt pins no {package}=="]
    version = _minor(pin)
    serving, container = images.get("serving"), images.get("serving_container")
    if not serving and not container:
        return [f"{where}: no serving image (serving or serving_container)"]
    problems: list[str] = []
    if serving:
        entry = _container(containers, str(serving), "serving")
        if entry is None:
            problems.append(f"{where}: serving {serving} is not a prebuilt prediction image")
        elif str(entry.get("version")) != version:
            problems.append(
                f"{where}: serving {serving} runs {package} {entry.get('version')}, but the"
                f" training pin is {package}=={pin} ({entry.get('source')})"
            )
        for device, name in (images.get("training") or {}).items():
            trained = _container(containers, str(name), "training")
            if trained is not None and str(trained.get("version")) != version:
                problems.append(
                    f"{where}: training.{device} {name} trains {package} {trained.get('version')},"
                    f" which serving {serving} does not run"
                )
    if container:
        dockerfile = _file(stack, str(container))
        if dockerfile is None:
            problems.append(f"{where}: serving_container {container} is not a file of the stack")
        elif "COPY requirements.txt" not in dockerfile.read_text(encoding="utf-8"):
            problems.append(f"{where}: {container} does not install requirements.txt's pins")
    for device, name in (images.get("training") or {}).items():
        if _container(containers, str(name), "training") is None:
            problems.append(f"{where}: training.{device} {name} is not in the catalogue")
    return problems


def _container(
    containers: Mapping[str, Mapping[str, Any]], name: str, kind: str
) -> Mapping[str, Any] | None:
    for key, entry in containers.items():
        if entry.get("kind") == kind and name in (key, entry.get("image")):
            return entry
    return None


def _file(stack: Stack, name: str) -> Path | None:
    """The stack's file `name` (or its template), from the last layer that has it."""
    for layer in reversed(stack.overlay):
        for candidate in (layer.folder / name, layer.folder / f"{name}.j2"):
            if candidate.is_file():
                return candidate
    return None


def _pin(stack: Stack, package: str) -> str | None:
    path = _file(stack, "requirements.txt")
    if path is None:
        return None
    pattern = rf"^{re.escape(package)}==([0-9][0-9A-Za-z.+]*)\s*$"
    match = re.search(pattern, path.read_text(encoding="utf-8"), re.MULTILINE | re.IGNORECASE)
    return match.group(1) if match else None


def _minor(version: str) -> str:
    """2.21.0 -> 2.21, 2.13.0+cpu -> 2.13: prebuilt images are named by major.minor."""
    return ".".join(version.split("+")[0].split(".")[:2])
