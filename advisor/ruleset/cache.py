"""A cache of the loaded and checked rule set, so starting the CLI skips parsing and validation.

The key is every YAML file under the rules folder (path, size, mtime) plus advisor's own code
that defines what a loaded rule is: change either and the rules are read and checked again.
The entry is a pickle, so it is only ever unpickled after its seal (an HMAC under the user's
key, advisor.usercache) has verified and its key matched: a missing, stale, forged or
corrupt entry is a miss. ADVISOR_NO_CACHE=1 turns it off.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
from pathlib import Path
from typing import Any

from advisor import usercache

_VERSION = 1
_PACKAGE = Path(__file__).resolve().parent
# Every module of this package: its classes are pickled, or its checks a cached set has passed.


class RuleSetCache:
    def __init__(self, root: Path) -> None:
        self.enabled = not usercache.disabled()
        self.root = root.resolve()
        digest = hashlib.sha1(str(self.root).encode()).hexdigest()[:16]
        self.name = f"ruleset-{digest}-v{_VERSION}.pickle"
        self.path = usercache.cache_root() / self.name
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
        data = usercache.read_sealed(usercache.cache_dir(), self.name)
        key = self.key.encode() + b"\0"
        if data is None or not data.startswith(key):  # checked before anything is unpickled
            return None
        try:
            return pickle.loads(data[len(key) :])
        except Exception:  # noqa: BLE001 - our own entry, but of an older advisor's classes
            return None

    def save(self, ruleset: Any) -> None:
        if not self.enabled:
            return
        try:
            payload = pickle.dumps(ruleset, protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, AttributeError, TypeError):
            return  # state that does not pickle: the cache is only a speed-up
        usercache.write_sealed(
            usercache.cache_dir(), self.name, self.key.encode() + b"\0" + payload
        )


def _stamp(path: Path) -> str:
    try:
        stat = path.stat()
    except OSError:
        return f"{path}:missing"
    return f"{path}:{stat.st_size}:{stat.st_mtime_ns}"
