"""Hardware gates, in the way of lightning-hydra-template's RunIf.

A test that needs a device says so with a marker and runs wherever the device is; a test of the
CPU fallback says it needs no device, so on a GPU machine it is reported as not applicable
instead of failing on an assertion about the machine.
"""

from __future__ import annotations

import functools
import shutil
import subprocess

import pytest


@functools.cache
def cuda_devices() -> int:
    """How many CUDA GPUs this machine has (nvidia-smi's count; 0 without a driver)."""
    if shutil.which("nvidia-smi") is None:
        return 0
    try:
        done = subprocess.run(
            ["nvidia-smi", "--list-gpus"], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return 0
    return sum(1 for line in done.stdout.splitlines() if line.startswith("GPU "))


def requires_gpu(count: int = 1) -> pytest.MarkDecorator:
    """Run only where at least `count` CUDA GPUs are visible."""
    return pytest.mark.skipif(cuda_devices() < count, reason=f"needs {count} CUDA GPU(s)")


no_gpu = pytest.mark.skipif(
    cuda_devices() > 0, reason="tests the CPU fallback, which a GPU machine does not take"
)
