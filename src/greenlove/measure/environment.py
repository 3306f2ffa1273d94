"""A description of where the benchmark ran (read when a report is built, never at import).

Reports are made to be shared: nothing here names the user, their host or their folders (no
executable path, no host name, no user name)."""

from __future__ import annotations

import os
import platform
from typing import Any

import torch

from .._version import __version__
from .ranks import current_world


def describe_environment() -> dict[str, Any]:
    """The machine and software; in a distributed job also ``world`` (its size, nodes and
    ranks per node)."""
    cuda = torch.cuda.is_available() and torch.cuda.is_initialized()
    device = torch.cuda.get_device_name(torch.cuda.current_device()) if cuda else "cpu"
    world = current_world()
    return {
        "greenlove": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or "unknown",
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "device": device,
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        **({"world": world.describe()} if world.distributed else {}),
    }
