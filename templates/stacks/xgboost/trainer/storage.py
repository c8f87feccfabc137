"""Files on a local disk or Cloud Storage (gs://, through gcsfs), written atomically."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def is_remote(path: str) -> bool:
    return "://" in path


def write_bytes(path: str, payload: bytes) -> None:
    """Locally: a temporary file in the same folder, then a rename, so a reader (or a restart
    after a crash) never sees half a file. On Cloud Storage an object appears whole when its
    upload completes."""
    if is_remote(path):
        import fsspec

        with fsspec.open(path, "wb") as handle:
            handle.write(payload)
        return
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=target.parent, prefix=".partial-")
    with os.fdopen(handle, "wb") as out:
        out.write(payload)
    os.replace(partial, target)


def write_json(path: str, payload: Any) -> None:
    write_bytes(path, (json.dumps(payload, indent=2, sort_keys=True) + "\n").encode())


def read_bytes(path: str) -> bytes:
    if is_remote(path):
        import fsspec

        with fsspec.open(path, "rb") as handle:
            return bytes(handle.read())
    return Path(path).read_bytes()


def listdir(directory: str) -> list[str]:
    """The files directly in `directory` (none when it does not exist)."""
    if is_remote(directory):
        import fsspec

        fs, _, (root,) = fsspec.get_fs_token_paths(directory)
        if not fs.exists(root):
            return []
        return [fs.unstrip_protocol(p) for p in fs.ls(root, detail=False)]
    folder = Path(directory)
    return [str(p) for p in folder.iterdir() if p.is_file()] if folder.is_dir() else []


def remove(path: str) -> None:
    if is_remote(path):
        import fsspec

        fs, _, (target,) = fsspec.get_fs_token_paths(path)
        fs.rm(target)
    else:
        Path(path).unlink(missing_ok=True)


def parent(path: str) -> str:
    """The folder of `path` (`.` for a bare name)."""
    head = path.rstrip("/").rsplit("/", 1)[0] if "/" in path.rstrip("/") else "."
    return head or "/"


def join(directory: str, name: str) -> str:
    return directory.rstrip("/") + "/" + name
