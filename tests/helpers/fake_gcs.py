"""Run a module with gs:// served from memory: `python fake_gcs.py [--put FILE URI]... -m MODULE
ARGS...`, in the generated project's folder.

fsspec's in-memory filesystem is registered for the gs protocol, each FILE is copied to its URI,
then MODULE runs as `python -m MODULE ARGS` would, in this process: its gs:// reads and writes
through fsspec never reach the network.
"""

from __future__ import annotations

import os
import runpy
import sys

import fsspec
from fsspec.implementations.memory import MemoryFileSystem


def main(argv: list[str]) -> None:
    fsspec.register_implementation("gs", MemoryFileSystem, clobber=True)
    while argv[0] == "--put":
        source, uri = argv[1], argv[2]
        with open(source, "rb") as local, fsspec.open(uri, "wb") as remote:
            remote.write(local.read())
        argv = argv[3:]
    assert argv[0] == "-m", argv
    sys.path.insert(0, os.getcwd())  # the project's packages, as `python -m` finds them
    sys.argv = [argv[1], *argv[2:]]
    runpy.run_module(argv[1], run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
