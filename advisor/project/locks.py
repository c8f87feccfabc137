"""uv.lock files for generated projects, resolved ahead of time.

A lock needs PyPI; generating a project must not. So `scripts/update_locks.py` runs `uv lock`
for every dependency set the generator can write and stores the results under templates/locks/;
a project whose pyproject.toml pins one of those sets gets its lock, with the project's name put
in. The store keeps each lock as a list of chunks (the blank-line separated blocks of a uv.lock,
one per package) in a shared pool, because the locks of different stacks share most packages:
joining a lock's chunks gives back the exact text uv wrote.

The key of a lock is what `uv lock --check` compares with the lock: requires-python, the
dependencies, the optional groups and the [tool.uv] table. The project's name is not part of it:
the store writes a placeholder in its place.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

from advisor.paths import templates_dir

LOCK_FILE = "uv.lock"
STORE = "locks/store.json"
PLACEHOLDER = "advisor-generated-project"
_SEPARATOR = "\n\n"


def lock_key(pyproject_text: str) -> str:
    """The digest of everything in pyproject.toml that `uv lock --check` holds the lock to."""
    data = tomllib.loads(pyproject_text)
    project = data.get("project", {})
    relevant = {
        "requires-python": project.get("requires-python"),
        "version": project.get("version"),
        "dependencies": project.get("dependencies", []),
        "optional-dependencies": project.get("optional-dependencies", {}),
        "tool.uv": data.get("tool", {}).get("uv", {}),
    }
    encoded = json.dumps(relevant, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(encoded).hexdigest()[:16]


def normalized_name(name: str) -> str:
    """The project name as uv writes it in a lock (PEP 503 normalisation)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _root_block(name: str) -> str:
    return f'[[package]]\nname = "{name}"\n'


@lru_cache(maxsize=2)
def _store(root: Path) -> tuple[dict[str, str], dict[str, list[str]]]:
    """(chunk id -> text, lock key -> chunk ids); empty when the store is missing."""
    path = root / STORE
    if not path.is_file():
        return {}, {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return data["chunks"], data["locks"]


def lock_for(pyproject_text: str, root: Path | None = None) -> str | None:
    """The uv.lock for this pyproject.toml, or None when the store has none for its pins."""
    chunks, entries = _store(root or templates_dir())
    chunk_ids = entries.get(lock_key(pyproject_text))
    if chunk_ids is None:
        return None
    text = _SEPARATOR.join(chunks[chunk] for chunk in chunk_ids)
    name = normalized_name(tomllib.loads(pyproject_text)["project"]["name"])
    return text.replace(_root_block(PLACEHOLDER), _root_block(name), 1)


def generic_lock(lock_text: str, project_name: str) -> str:
    """A lock uv wrote for one project, with the placeholder in place of its name."""
    root = _root_block(normalized_name(project_name))
    if root not in lock_text:
        raise ValueError(f"the lock has no package block for the project {project_name!r}")
    return lock_text.replace(root, _root_block(PLACEHOLDER), 1)


def store_text(locks: Mapping[str, str]) -> str:
    """The store for these locks (key -> generic lock text): chunks shared, sorted, stable."""
    chunks: dict[str, str] = {}
    entries: dict[str, list[str]] = {}
    for key, text in sorted(locks.items()):
        ids = []
        for chunk in text.split(_SEPARATOR):
            chunk_id = hashlib.sha256(chunk.encode()).hexdigest()[:16]
            chunks[chunk_id] = chunk
            ids.append(chunk_id)
        entries[key] = ids
    data = {"chunks": dict(sorted(chunks.items())), "locks": entries}
    return json.dumps(data, indent=0, ensure_ascii=False) + "\n"
