"""The user's private cache folder, and sealed entries that nobody else can forge.

Every on-disk cache (the rule set, parsed YAML, black's output, compiled templates) goes
through here, because each of them feeds data back into the tool (a pickle is code, a
compiled template is code, black's output is copied into generated files). So:

- the folder is `$XDG_CACHE_HOME/advisor` (only an absolute XDG_CACHE_HOME counts, as the
  XDG spec says) or `~/.cache/advisor`; it is made 0700 whatever the umask, and a folder that
  is not owned by the user, is a symbolic link, or is writable by the group or others is
  refused: caching is then off for the run, with one warning line on stderr;
- each entry is sealed with an HMAC-SHA256 under a per-user random key (a 0600 file in the
  folder) over the entry's name and content; an entry whose seal does not verify, a
  truncated one or a file of the wrong owner or mode is a miss, never data;
- entries are written to a fresh 0600 temporary file (O_EXCL, random name) and renamed into
  place; stale temporary files left by a killed run are swept on the next write.

ADVISOR_NO_CACHE=1 turns every cache off, reads included.
"""

from __future__ import annotations

import contextlib
import hmac
import os
import stat
import sys
import time
from hashlib import sha256
from pathlib import Path

_MAGIC = b"advisor-sealed-1\n"
_KEY_FILE = ".key"
_TEMP_SUFFIX = ".advisor-tmp"
_STALE_SECONDS = 600
_warned: set[str] = set()
_keys: dict[Path, bytes | None] = {}


def disabled() -> bool:
    return bool(os.environ.get("ADVISOR_NO_CACHE"))


def cache_root() -> Path:
    """Where the cache would live (nothing is created or checked here)."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):  # unset, empty or relative: the spec says to ignore it
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "advisor"


def _warn(path: Path, why: str) -> None:
    if str(path) not in _warned:
        _warned.add(str(path))
        print(f"advisor: warning: {path}: {why}; the cache is not used", file=sys.stderr)


def _private(path: Path, info: os.stat_result) -> str | None:
    """Why `path` (already lstat-ed) cannot be trusted, or None."""
    if stat.S_ISLNK(info.st_mode):
        return "is a symbolic link"
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        return f"is owned by another user (uid {info.st_uid})"
    if info.st_mode & 0o022:
        return "is writable by other users"
    return None


def cache_dir(name: str = "") -> Path | None:
    """The private cache folder (or its subfolder `name`), made if missing; None when off."""
    if disabled():
        return None
    folder = cache_root()
    targets = [folder, folder / name] if name else [folder]
    for target in targets:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.mkdir(target, 0o700)
                os.chmod(target, 0o700)  # the umask may have taken bits away; 0700 exactly
            except FileExistsError:
                pass
            info = os.lstat(target)
        except OSError:
            return None  # a read-only home or a file in the way: run without a cache
        if not stat.S_ISDIR(info.st_mode) and not stat.S_ISLNK(info.st_mode):
            return None
        problem = _private(target, info)
        if problem:
            _warn(target, problem)
            return None
    return targets[-1]


def _key(folder: Path) -> bytes | None:
    """The per-user sealing key (made on first use), or None when it cannot be had."""
    if folder not in _keys:
        _keys[folder] = _load_key(folder / _KEY_FILE)
    return _keys[folder]


def _load_key(path: Path) -> bytes | None:
    for _attempt in range(2):
        try:
            key = _read_private(path)
            if len(key) == 32:
                return key
            path.unlink()  # a key cut short by a crash: make a new one (entries become misses)
        except FileNotFoundError:
            pass
        except OSError:
            return None
        # Written in full under a temporary name, then linked: another run sees all or nothing.
        temp = path.with_name(f"{_KEY_FILE}.{os.getpid()}{_TEMP_SUFFIX}")
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(os.urandom(32))
            os.link(temp, path)
        except FileExistsError:
            pass  # another run made it first: read theirs
        except OSError:
            return None
        finally:
            with contextlib.suppress(OSError):
                os.unlink(temp)
    return None


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def _read_private(path: Path) -> bytes:
    """The bytes of a regular file owned by the user and writable by nobody else."""
    fd = os.open(path, os.O_RDONLY | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or _private(path, info):
            raise PermissionError(f"{path}: not a private file")
        return handle.read()


def _seal(key: bytes, name: str, payload: bytes) -> bytes:
    return hmac.new(key, name.encode() + b"\0" + payload, sha256).digest()


def read_sealed(folder: Path | None, name: str) -> bytes | None:
    """The content of entry `name` in `folder` when its seal verifies, else None."""
    if folder is None or disabled():
        return None
    key = _key(cache_root())
    if key is None:
        return None
    try:
        data = _read_private(folder / name)
    except OSError:
        return None
    head = len(_MAGIC) + 32
    if len(data) < head or not data.startswith(_MAGIC):
        return None
    mac, payload = data[len(_MAGIC) : head], data[head:]
    return payload if hmac.compare_digest(mac, _seal(key, name, payload)) else None


def write_sealed(folder: Path | None, name: str, payload: bytes) -> None:
    """Store entry `name` atomically; any failure leaves the cache as it was."""
    if folder is None or disabled():
        return
    import tempfile

    key = _key(cache_root())
    if key is None:
        return
    _sweep(folder)
    temp = None
    try:
        fd, temp = tempfile.mkstemp(prefix=".", suffix=_TEMP_SUFFIX, dir=folder)
        with os.fdopen(fd, "wb") as handle:
            handle.write(_MAGIC + _seal(key, name, payload) + payload)
        os.replace(temp, folder / name)
        temp = None
    except OSError:
        pass  # a full or read-only disk: the cache is only a speed-up
    finally:
        if temp is not None:
            with contextlib.suppress(OSError):
                os.unlink(temp)


def _sweep(folder: Path) -> None:
    """Remove temporary files a killed run left behind (older than ten minutes)."""
    now = time.time()
    try:
        for path in folder.glob(f".*{_TEMP_SUFFIX}"):
            try:
                if now - path.lstat().st_mtime > _STALE_SECONDS:
                    path.unlink()
            except OSError:
                pass
    except OSError:
        pass
