"""A cache of the loaded and checked rule set, so starting the CLI skips parsing and validation.

The key is every YAML file under the rules folder (path, size, mtime) plus advisor's own code
that defines what a loaded rule is: change either and the rules are read and checked again.
The entry is a pickle in the user's cache folder, written atomically; a missing, stale or
unreadable entry is simply a miss. ADVISOR_NO_CACHE=1 turns it off.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
from pathlib import Path
from typing import Any

from advisor.ruleset.yamlcache import cache_root

_VERSION = 1
_PACKAGE = Path(__file__).resolve().parent
# Every module of this package: its classes are pickled, or its checks a cached set has passed.


class RuleSetCache:
    def __init__(self, root: Path) -> None:
        self.enabled = not os.environ.get("ADVISOR_NO_CACHE")
        self.root = root.resolve()
        digest = hashlib.sha1(str(self.root).encode()).hexdigest()[:16]
        self.path = cache_root() / f"ruleset-{digest}-v{_VERSION}.pickle"
        self.key = self._fingerprint() if self.enabled else ""

    def _fingerprint(self) -> str:
        parts = [sys.version, str(_VERSION)]
        parts.extend(_stamp(path) for path in sorted(_PACKAGE.glob("*.py")))
        for folder, dirs, files in os.walk(self.root):
            dirs.sort()
            parts.extend(_stamp(Path(folder) / f) for f in sorted(files) if f.endswith(".yaml"))
        return hashlib.sha1("\0".join(parts).encode()).hexdigest()

    def load(self) -> Any:
        """The cached rule set, or None."""
        if not self.enabled:
            return None
        try:
            with open(self.path, "rb") as handle:
                key, ruleset = pickle.load(handle)
        except Exception:  # noqa: BLE001 - any unreadable entry (old classes too) is a miss
            return None
        return ruleset if key == self.key else None

    def save(self, ruleset: Any) -> None:
        if not self.enabled:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temp = self.path.with_suffix(f".{os.getpid()}.tmp")
            temp.write_bytes(pickle.dumps((self.key, ruleset), protocol=pickle.HIGHEST_PROTOCOL))
            os.replace(temp, self.path)
        except (OSError, pickle.PicklingError, AttributeError, TypeError):
            pass  # a read-only home, or state that does not pickle: the cache is only a speed-up


def _stamp(path: Path) -> str:
    try:
        stat = path.stat()
    except OSError:
        return f"{path}:missing"
    return f"{path}:{stat.st_size}:{stat.st_mtime_ns}"
