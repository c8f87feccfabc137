"""A cache of parsed YAML files, so the CLI does not re-parse ~100 rule files on every start.

Parsing is most of the cost of loading the rules (PyYAML builds Python objects slowly even with
libyaml). Each entry is keyed by the file's path, size and mtime, so an edited file is parsed
again; the cache lives in the user's private cache folder, sealed (advisor.usercache), so an
entry another user wrote, or one cut short, is a miss. `marshal` is enough (the data is plain
dicts, lists, strings and numbers) and loads in about a millisecond; an entry of the wrong
shape is a miss too. Set ADVISOR_NO_CACHE=1 to bypass it.
"""

from __future__ import annotations

import hashlib
import marshal
from pathlib import Path
from typing import Any

from advisor import usercache
from advisor.ruleset.yamlio import load_yaml_file

_VERSION = 1


def cache_root() -> Path:
    """The user's cache folder for advisor (see advisor.usercache)."""
    return usercache.cache_root()


class YamlCache:
    """Parsed YAML under one folder; `load` parses on a miss, `save` persists new entries."""

    def __init__(self, root: Path) -> None:
        self.enabled = not usercache.disabled()
        digest = hashlib.sha1(str(root.resolve()).encode()).hexdigest()[:16]
        self.name = f"yaml-{digest}-v{_VERSION}.marshal"
        self.path = cache_root() / self.name
        self.entries: dict[str, tuple[int, int, Any]] = {}
        self.dirty = False
        if self.enabled:
            self.entries = _entries(usercache.read_sealed(usercache.cache_dir(), self.name))

    def load(self, path: Path, error: type[Exception]) -> Any:
        try:
            stat = path.stat()
        except OSError:
            return load_yaml_file(path, error)  # reports "file not found" the usual way
        key = str(path)
        entry = self.entries.get(key)
        if entry is not None and entry[:2] == (stat.st_size, stat.st_mtime_ns):
            return entry[2]
        data = load_yaml_file(path, error)
        try:
            marshal.dumps(data)
        except ValueError:  # e.g. dates: not cacheable, still valid
            return data
        self.entries[key] = (stat.st_size, stat.st_mtime_ns, data)
        self.dirty = True
        return data

    def save(self) -> None:
        if not (self.enabled and self.dirty):
            return
        usercache.write_sealed(usercache.cache_dir(), self.name, marshal.dumps(self.entries))
        self.dirty = False


def _entries(data: bytes | None) -> dict[str, tuple[int, int, Any]]:
    """The entries of a sealed cache file; {} for anything not of the shape `save` writes."""
    if data is None:
        return {}
    try:
        entries = marshal.loads(data)
    except (EOFError, ValueError, TypeError):
        return {}
    if not isinstance(entries, dict):
        return {}
    good = {
        key: entry
        for key, entry in entries.items()
        if isinstance(key, str)
        and isinstance(entry, tuple)
        and len(entry) == 3
        and all(isinstance(n, int) for n in entry[:2])
    }
    return good if len(good) == len(entries) else {}
