"""Where files go: local folders, or Cloud Storage (gs://) on Vertex AI.

Vertex AI mounts buckets under /gcs/ with Cloud Storage FUSE, so a gs:// path becomes a file
path there and the same atomic write (temporary file, then os.replace) works. Elsewhere gs:// goes
through fsspec/gcsfs: a Cloud Storage object appears only once its upload is complete (atomic too).
"""

from __future__ import annotations

import io
import json
import os
import posixpath
from collections.abc import Callable
from typing import Any, BinaryIO

import fsspec
import torch

FUSE_ROOT = "/gcs"


def resolve(uri: str) -> str:
    """gs://bucket/path -> /gcs/bucket/path where the bucket is mounted; anything else unchanged."""
    if uri.startswith("gs://") and os.path.isdir(FUSE_ROOT):
        return posixpath.join(FUSE_ROOT, uri[len("gs://") :])
    return uri


def is_remote(path: str) -> bool:
    return "://" in path


def join(folder: str, name: str) -> str:
    return (
        posixpath.join(folder.rstrip("/"), name)
        if is_remote(folder)
        else os.path.join(folder, name)
    )


def parent(path: str) -> str:
    return posixpath.dirname(path.rstrip("/"))


def makedirs(folder: str) -> None:
    if not is_remote(folder):
        os.makedirs(folder, exist_ok=True)


def exists(path: str) -> bool:
    if is_remote(path):
        filesystem, inner = fsspec.core.url_to_fs(path)
        return bool(filesystem.exists(inner))
    return os.path.exists(path)


def write_atomic(path: str, write: Callable[[BinaryIO], None]) -> None:
    """Write a file so that a reader (or a restart after preemption) never sees half of it."""
    if is_remote(path):
        buffer = io.BytesIO()
        write(buffer)
        with fsspec.open(path, "wb") as handle:
            handle.write(buffer.getvalue())
        return
    makedirs(os.path.dirname(path) or ".")
    temporary = f"{path}.tmp-{os.getpid()}"
    with open(temporary, "wb") as handle:
        write(handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def save_torch(obj: Any, path: str) -> None:
    write_atomic(path, lambda handle: torch.save(obj, handle))


def load_torch(path: str) -> Any:
    """A checkpoint written by save_torch, on the CPU."""
    with fsspec.open(path, "rb") as handle:
        return torch.load(io.BytesIO(handle.read()), map_location="cpu", weights_only=True)


def save_json(obj: Any, path: str) -> None:
    text = json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n"
    write_atomic(path, lambda handle: handle.write(text.encode("utf-8")))
