"""The registered model's files: a local folder, or a copy of the gs:// folder Vertex AI names in
AIP_STORAGE_URI (read with gcsfs)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

import fsspec


def fetch_model(uri: str, names: Iterable[str]) -> Path:
    """A local folder holding `names`: `uri` itself, or a fresh copy of those files."""
    if "://" not in uri:
        return Path(uri)
    local = Path(tempfile.mkdtemp(prefix="model-"))
    for name in names:
        with fsspec.open(f"{uri.rstrip('/')}/{name}", "rb") as src, open(local / name, "wb") as dst:
            shutil.copyfileobj(src, dst)
    return local
