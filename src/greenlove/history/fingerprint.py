"""Which machine a run ran on: CPU model, core count, GPUs and a hash of the host name.

Computed when asked, never at import. GPUs are named only where the user's code has already
initialised CUDA: greenlove never creates a CUDA context of its own (see measure/environment.py);
where CUDA is there but not initialised, ``gpus`` is None (not looked at), which matches any GPU
list of the same host (``greenlove history`` itself never initialises CUDA). The host name itself
is never stored, only the start of its SHA-256.
"""

from __future__ import annotations

import hashlib
import os
import platform
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

CPUINFO = Path("/proc/cpuinfo")

SAME_MACHINE_KEYS = ("cpu", "logical_cpus", "gpus", "host")
"""The fingerprint's entries that must agree for two runs to count as the same machine."""


def machine_fingerprint(*, cpuinfo: Path = CPUINFO) -> dict[str, Any]:
    """This machine's fingerprint (a JSON-ready dict)."""
    gpus = _gpu_names()
    return {
        "cpu": cpu_model(cpuinfo),
        "logical_cpus": os.cpu_count(),
        "gpus": gpus,
        "gpu_count": None if gpus is None else len(gpus),
        "host": hashlib.sha256(socket.gethostname().encode("utf-8")).hexdigest()[:16],
        "system": platform.system(),
    }


def cpu_model(cpuinfo: Path = CPUINFO) -> str:
    """The CPU's model name: /proc/cpuinfo's "model name" on Linux, else platform.processor()."""
    try:
        with Path(cpuinfo).open(encoding="utf-8", errors="replace") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and value.strip():
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _gpu_names() -> list[str] | None:
    """The CUDA GPUs' names; [] without CUDA; None where CUDA is there but not initialised."""
    import torch

    if not torch.cuda.is_available():
        return []
    if not torch.cuda.is_initialized():
        return None
    return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]


def same_machine(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Whether two fingerprints are of the same machine: CPU, core count, host and GPUs agree
    (GPUs not looked at, None, agree with any)."""
    return all(_normal(a.get(key)) == _normal(b.get(key)) for key in SAME_MACHINE_KEYS
               if not (key == "gpus" and (a.get(key) is None or b.get(key) is None)))


def _normal(value: Any) -> Any:
    # A GPU list read back from JSON is a list; one built here may be a tuple.
    return list(value) if isinstance(value, (list, tuple)) else value
