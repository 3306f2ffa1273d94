"""The factory: find every power source this machine offers, and say what it fell back to.

Called when a benchmark starts, never at import. Order of preference, per kind:
GPU: NVML (NVIDIA), amdsmi (AMD); CPU: RAPL, else a TDP x utilisation estimate;
RAM: RAPL's DRAM domain, else a watts-per-GB estimate. Every estimate or failure becomes a
line in ``fallbacks`` so that the report never hides one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from ..bounded import call_bounded
from .base import KIND_CPU, KIND_GPU, KIND_RAM, Fallback, Meter, MeterError, NullMeter

POWERCAP_ROOT = Path("/sys/class/powercap")


@dataclass(frozen=True)
class Discovery:
    meters: tuple[Meter, ...]
    fallbacks: tuple[str, ...]


def _gpu_runtime() -> tuple[bool, bool]:
    """(CUDA usable, ROCm build): whether a missing GPU meter is a fallback worth reporting."""
    import torch

    hip = getattr(torch.version, "hip", None) is not None
    return torch.cuda.is_available() and not hip, hip and torch.cuda.is_available()


def discover_meters(
    *,
    nvml: ModuleType | Any | None = None,
    amdsmi: ModuleType | Any | None = None,
    powercap_root: Path = POWERCAP_ROOT,
    reader: Callable[[Path], str] | None = None,
    env: Mapping[str, str] | None = None,
    cpuinfo: Path | None = None,
    cpu_percent: Callable[[], float] | None = None,
    gpu_runtime: tuple[bool, bool] | None = None,
) -> Discovery:
    """Meters for every GPU the process can see, the CPU packages and the memory."""
    # Backends are imported here, not at module import: greenlove probes nothing on import.
    from .amd import open_amd_meters
    from .cpu_estimate import CpuTdpMeter, lookup_cpu_tdp, read_cpu_model
    from .nvml import open_nvidia_meters
    from .ram_estimate import RamEstimateMeter
    from .rapl import open_rapl_meters

    meters: list[Meter] = []
    fallbacks: list[Fallback] = []
    cuda, rocm = gpu_runtime if gpu_runtime is not None else _gpu_runtime()

    gpus: list[Meter] = []
    try:
        gpus += open_nvidia_meters(nvml=nvml, env=env)
    except MeterError as error:
        if cuda:  # on a machine without an NVIDIA GPU, no NVML is no news
            gpus.append(NullMeter("GPU (NVIDIA)", KIND_GPU, str(error)))
    if rocm or amdsmi is not None:
        try:
            gpus += open_amd_meters(amdsmi=amdsmi)
        except MeterError as error:
            gpus.append(NullMeter("GPU (AMD)", KIND_GPU, str(error)))
    for gpu in gpus:
        if isinstance(gpu, NullMeter):
            fallbacks.append(Fallback(KIND_GPU, gpu.name, gpu.note,
                                      "nothing: that GPU's energy is missing from the totals"))
    meters += gpus

    kinds: set[str] = set()
    rapl_fix = ""
    try:
        rapl = open_rapl_meters(root=powercap_root, reader=reader) if reader is not None \
            else open_rapl_meters(root=powercap_root)
        meters += rapl
        kinds = {m.kind for m in rapl}
        rapl_reason = "no DRAM domain in RAPL on this machine"
    except MeterError as error:
        rapl_reason = getattr(error, "reason", str(error))
        rapl_fix = getattr(error, "fix", "")
    cpu = ram = None
    if KIND_CPU not in kinds:
        tdp = lookup_cpu_tdp(read_cpu_model(cpuinfo) if cpuinfo is not None else read_cpu_model())
        cpu = CpuTdpMeter(tdp, cpu_percent=cpu_percent)
        meters.append(cpu)
    if KIND_RAM not in kinds:
        ram = RamEstimateMeter()
        meters.append(ram)
    if cpu is not None and ram is not None:
        # One cause, one line: RAPL is missing or unreadable for both.
        fallbacks.append(Fallback("CPU and RAM", "RAPL", rapl_reason,
                                  f"estimates ({cpu.method} for the CPU, {ram.method} for the "
                                  "RAM)", rapl_fix))
    elif cpu is not None:
        fallbacks.append(Fallback(KIND_CPU, "RAPL", rapl_reason, f"an estimate ({cpu.method})",
                                  rapl_fix))
    elif ram is not None:
        fallbacks.append(Fallback(KIND_RAM, "RAPL DRAM", rapl_reason,
                                  f"an estimate ({ram.method})"))
    return Discovery(meters=tuple(meters), fallbacks=tuple(f.message() for f in fallbacks))


DISCOVERY_TIMEOUT_S = 10.0
"""How long the user's thread waits for the meters to be found (opening NVML, reading sysfs):
normally milliseconds; a wedged driver may never return."""


def discover_meters_bounded(timeout_s: float = DISCOVERY_TIMEOUT_S,
                            discover: Callable[[], Discovery] | None = None) -> Discovery:
    """:func:`discover_meters` off the user's thread, waited for at most ``timeout_s``: when it
    does not return in time, no meter is used and the fallback says why."""
    finished, found = call_bounded(discover or discover_meters, timeout_s,
                                   name="greenlove-meter-discovery")
    if finished and found is not None:
        return found
    return Discovery(meters=(), fallbacks=(
        f"Finding the power meters did not finish within {timeout_s:g} s (a hung GPU driver or "
        "sysfs read?): energy is not measured this time.",))


def meters_for(given: Sequence[Meter] | None) -> Discovery:
    """The meters to read: those given (``EnergyOptions.meters``), else those found here."""
    if given is not None:
        return Discovery(meters=tuple(given), fallbacks=())
    return discover_meters_bounded()
