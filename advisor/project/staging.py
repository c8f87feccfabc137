"""Changing the files of an existing folder all or nothing: stage, journal, then switch over.

`advisor update` and `advisor new` into an existing folder change many files. Each change is
first written in full under `.advisor/staging/`; then a journal (`.advisor/journal.json`)
lists every rename and removal; then, with SIGINT and SIGTERM held back for the few
milliseconds it takes, the staged files are renamed over their targets and the journal is
removed. An interruption before the journal leaves the folder as it was (the staging folder
is removed, now or by the next run); one after it (a power cut, SIGKILL) is finished by the
next run, which finds the journal. Every target is confined to the folder: a path that is
absolute, has `..`, or leads out through a symbolic link is refused before anything is written.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from advisor.errors import AdvisorError
from advisor.fileio import atomic_write, confined, read_text_bounded

STAGING = ".advisor/staging"
JOURNAL = ".advisor/journal.json"


def write_staged(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)


def check_targets(root: Path, writes: Mapping[str, str | None]) -> dict[str, Path]:
    """The real path of every target, or AdvisorError before anything is written."""
    targets = {rel: confined(root, rel, str(root)) for rel in writes}
    base = Path(os.path.realpath(root))
    for rel, target in targets.items():
        if writes[rel] is not None and target.is_dir():
            raise AdvisorError(f"{root / rel}: is a folder; the project needs a file there")
        for parent in target.parents:
            if parent == base:
                break
            if parent.exists() and not parent.is_dir():
                raise AdvisorError(f"{parent}: is a file; the project needs a folder there")
    return targets


def apply_changes(
    root: Path,
    writes: Mapping[str, str | None],
    write: Callable[[Path, str], None] = write_staged,
) -> None:
    """Write (text) or remove (None) each relative path under `root`, all or nothing."""
    root = Path(os.path.abspath(root))
    targets = check_targets(root, writes)
    tool_dir = confined(root, ".advisor", str(root))
    made_tool_dir = not tool_dir.exists()
    staging = confined(root, STAGING, str(root))
    shutil.rmtree(staging, ignore_errors=True)
    entries: list[dict[str, Any]] = []
    try:
        staging.mkdir(parents=True)
        for index, (rel, text) in enumerate(writes.items()):
            if text is None:
                entries.append({"remove": rel})
                continue
            name = f"{index:05d}"
            write(staging / name, text)
            if targets[rel].is_file():  # keep the user's mode (chmod +x) on a replaced file
                os.chmod(staging / name, targets[rel].stat().st_mode & 0o7777)
            entries.append({"stage": name, "target": rel})
        atomic_write(confined(root, JOURNAL, str(root)), json.dumps({"entries": entries}))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if made_tool_dir:
            with suppress(OSError):
                tool_dir.rmdir()
        raise
    _commit(root, entries)


def recover(root: Path) -> bool:
    """Finish a switch-over an earlier run began, and drop stray staging; True if finished one."""
    root = Path(os.path.abspath(root))
    journal = root / JOURNAL
    if not journal.is_file():
        if (root / STAGING).is_dir():
            shutil.rmtree(confined(root, STAGING, str(root)), ignore_errors=True)
        return False
    try:
        entries = json.loads(read_text_bounded(journal, AdvisorError))["entries"]
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise TypeError("'entries' must be a list of objects")
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        raise AdvisorError(
            f"{journal}: not a journal written by advisor ({exc}); remove it to go on"
        ) from None
    _commit(root, entries)
    return True


def _commit(root: Path, entries: list[dict[str, Any]]) -> None:
    staging = root / STAGING
    with _signals_held():
        for entry in entries:
            if "remove" in entry:
                confined(root, str(entry["remove"]), str(root / JOURNAL)).unlink(missing_ok=True)
                continue
            name, rel = str(entry.get("stage", "")), str(entry.get("target", ""))
            if not (name.isdigit() and len(name) == 5):
                raise AdvisorError(f"{root / JOURNAL}: entry {name!r}: not a staged file")
            source = staging / name
            if not source.is_file() or source.is_symlink():
                continue  # renamed before an interruption
            target = confined(root, rel, str(root / JOURNAL))
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)
        (root / JOURNAL).unlink(missing_ok=True)
        shutil.rmtree(staging, ignore_errors=True)


@contextmanager
def _signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM wait until the block ends (it only renames files)."""
    held = {signal.SIGINT, signal.SIGTERM}
    if threading.current_thread() is not threading.main_thread() or not hasattr(
        signal, "pthread_sigmask"
    ):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
