"""Careful file access: bounded reads, atomic writes, paths confined to a folder, run locks.

Input files (answers, rules, a project's record) are small; reading one is refused when it is
not a regular file (a FIFO would block, /dev/zero never ends) or larger than `MAX_INPUT_BYTES`.
Writes go to a temporary file beside the target and are renamed over it, so a reader never
sees half a file. `confined` turns a relative path from an untrusted place (a project's
`.advisor/base.json`) into a path that provably stays inside its folder, symbolic links
resolved. `run_lock` serialises runs that change the same files.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path, PurePosixPath

from advisor.errors import AdvisorError

# Answers files and rule files are a few kilobytes; a megabyte is far beyond any real one.
MAX_INPUT_BYTES = 1_000_000


def read_text_bounded(path: Path, error: type[Exception], limit: int = MAX_INPUT_BYTES) -> str:
    """The UTF-8 text of a regular file of at most `limit` bytes, or `error` naming the path."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise error(f"{path}: file not found") from None
    except OSError as exc:
        raise error(f"{path}: cannot be read: {exc.strerror}") from None
    if stat.S_ISDIR(info.st_mode):
        raise error(f"{path}: is a folder, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise error(f"{path}: not a regular file (a pipe or device is not read)")
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise error(f"{path}: cannot be read: {exc.strerror}") from None
    if len(data) > limit:
        raise error(f"{path}: larger than {limit} bytes; an answers or rule file is far smaller")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: cannot be read: not UTF-8 text ({exc.reason})") from None
    return text[1:] if text.startswith("\ufeff") else text


def atomic_write(
    path: Path, data: str | bytes, *, exclusive: bool = False, mode: int | None = None
) -> None:
    """Write `data` to `path` through a temporary file and one rename.

    `exclusive`: fail with FileExistsError rather than replace an existing file. `mode`: the
    new file's permission bits (default: an existing file's, else 0666 less the umask).
    """
    import tempfile

    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".advisor-tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)
        if mode is None:
            try:
                mode = os.stat(path).st_mode & 0o7777
            except OSError:
                mode = 0o666 & ~current_umask()
        os.chmod(temp, mode)
        if exclusive:
            os.link(temp, path)  # fails when the name exists, even if made a moment ago
            os.unlink(temp)
        else:
            os.replace(temp, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(temp)
        raise


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_relative(rel: str, origin: str) -> PurePosixPath:
    """`rel` as a plain relative path, or AdvisorError: no absolute path, `..`, empty part."""
    pure = PurePosixPath(rel)
    bad = (
        not rel
        or "\\" in rel
        or not rel.isprintable()
        or pure.is_absolute()
        or any(part in ("", ".", "..") for part in rel.split("/"))
    )
    if bad:
        raise AdvisorError(
            f"{origin}: path {quoted(rel)}: not allowed; expected a relative path inside the"
            " project (no absolute path, no '..')"
        )
    return pure


def confined(root: Path, rel: str, origin: str) -> Path:
    """The real path of `root/rel`, refused when it (symbolic links followed) leaves `root`."""
    check_relative(rel, origin)
    base = Path(os.path.realpath(root))
    target = Path(os.path.realpath(base / rel))
    if target != base and base not in target.parents:
        raise AdvisorError(
            f"{root / rel}: leads outside {root} (through a symbolic link); advisor writes only"
            " inside the project"
        )
    return target


def shown(value: object) -> str:
    """A value for a message: a repr (control characters escaped), bounded in size and depth.

    Aliased YAML can make a small file a huge value, and a message must not expand it.
    """
    import reprlib

    short = reprlib.Repr()
    short.maxlevel, short.maxlist, short.maxdict, short.maxstring, short.maxother = 2, 4, 4, 60, 60
    try:
        return short.repr(value)
    except ValueError:  # an integer too long to print
        return "a number too large to show"


def quoted(text: str, limit: int = 80) -> str:
    """`'text'` for a message, with characters that are not printable (ANSI escapes, bidi
    marks) written as escapes, so a name from an untrusted file cannot drive the terminal."""
    safe = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text[: limit + 1])
    return f"'{safe[:limit]}...'" if len(safe) > limit else f"'{safe}'"


@contextmanager
def run_lock(folder: Path, *, wait: bool = False) -> Iterator[None]:
    """Hold an exclusive lock on `folder` for the block; refuse (or `wait`) when another run
    holds it.

    The lock is on the folder itself (flock on its descriptor), so no lock file is left in a
    project; the kernel drops it when the process ends, however it ends.
    """
    try:
        import fcntl
    except ImportError:  # no advisory locks on this platform
        yield
        return
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AdvisorError(
                f"{folder}: another advisor run is changing this folder; try again when it ends"
            ) from None
        yield
    finally:
        os.close(fd)
