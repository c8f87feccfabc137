"""A cache of parsed YAML files, so the CLI does not re-parse ~100 rule files on every start.

Parsing is most of the cost of loading the rules (PyYAML builds Python objects slowly even with
libyaml). Each entry is keyed by the file's path, size and mtime, so an edited file is parsed
again; the cache lives in the user's cache folder and is written atomically. `marshal` is enough
(the data is plain dicts, lists, strings and numbers) and loads in about a millisecond.
Set ADVISOR_NO_CACHE=1 to bypass it.
"""

from __future__ import annotations

import hashlib
import marshal
import os
from pathlib import Path
from typing import Any

from advisor.ruleset.yamlio import load_yaml_file

_VERSION = 1


def cache_root() -> Path:
    """The user's cache folder for advisor (XDG_CACHE_HOME or ~/.cache)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "advisor"


class YamlCache:
    """Parsed YAML under one folder; `load` parses on a miss, `save` persists new entries."""

    def __init__(self, root: Path) -> None:
        self.enabled = not os.environ.get("ADVISOR_NO_CACHE")
        digest = hashlib.sha1(str(root.resolve()).encode()).hexdigest()[:16]
        self.path = cache_root() / f"yaml-{digest}-v{_VERSION}.marshal"
        self.entries: dict[str, tuple[int, int, Any]] = {}
        self.dirty = False
        if self.enabled:
            try:
                self.entries = marshal.loads(self.path.read_bytes())
            except (OSError, EOFError, ValueError, TypeError):
                self.entries = {}

    def load(self, path: Path, error: type[Exception]) -> Any:
        try:
            stat = path.stat()
        except OSError:
            return load_yaml_file(path, error)  # reports "file not found" the usual way
        key = str(path)
        entry = self.entries.get(key)
        if entry is not None and entry[0] == stat.st_size and entry[1] == stat.st_mtime_ns:
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
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temp = self.path.with_suffix(f".{os.getpid()}.tmp")
            temp.write_bytes(marshal.dumps(self.entries))
            os.replace(temp, self.path)
        except OSError:
            pass  # a read-only home: the cache is an optimization only
        self.dirty = False
