"""Which device the benchmark ran on, and the throughput figures that stand for it.

A GPU whose name is in the spec table is described by its spec row. A CPU has no spec row worth
trusting (peak FLOPS depend on vector width, cores in use and clocks), so a short measurement of
what this process actually achieves stands in: the best of several fp32 matmuls (TFLOPS) and a
large tensor copy (GB/s). A GPU that is not in the table is timed the same way, on the GPU itself,
and labelled "unknown-gpu". Nothing here runs at import.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import torch

from ..data.tables import GpuSpec, find_gpu

DeviceKind = Literal["gpu", "cpu"]
DeviceMethod = Literal["spec-table", "measured-cpu-standin", "unknown-gpu"]

# Matmuls are grown until one takes this long, so timer resolution and call overhead are noise.
_MIN_MATMUL_S = 0.010
_START_N = 256
_MAX_N = {"cpu": 4096, "cuda": 8192}         # 4096^2 fp32 = 64 MiB a matrix: fine on any laptop
# Copy size: well past the last-level cache of desktop and most server CPUs (32-128 MiB per socket),
# so the copy streams from DRAM; on a GPU it is far past L2 (40-60 MiB on A100/H100).
_COPY_BYTES = 256 * 2**20
_MAX_REPEATS = 50                            # bounds the loops even if the clock stalls (tests)
_MATMUL_SHARE = 0.6                          # of the time budget; the rest goes to the copy
STANDIN_S = 0.3
"""Seconds the CPU stand-in measures for. On the 2-core development VM 0.3 s and 1 s gave the
same figures within run-to-run noise (0.30-0.35 TFLOP/s, 25 GB/s); the wall time is about
0.4 s, the 256 MiB copy buffers' allocation included."""


@dataclass(frozen=True)
class LocalDevice:
    """The local device and the figures that stand for it.

    achieved_tflops (TFLOP/s) and achieved_bandwidth_gbs (GB/s, 1e9 bytes/s) are measured values;
    None when the spec row is used instead (method "spec-table") or nothing could be measured.
    """

    name: str
    kind: DeviceKind
    spec: GpuSpec | None
    achieved_tflops: float | None
    achieved_bandwidth_gbs: float | None
    method: DeviceMethod
    source: str
    op_overhead_s: float | None = None   # measured host cost of dispatching one tiny torch op


def _sync(device: torch.device) -> None:
    # CUDA kernels are asynchronous: without a sync the clock would time the launch, not the work.
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(fn: Callable[[], object], device: torch.device, clock: Callable[[], float]) -> float:
    _sync(device)
    start = clock()
    fn()
    _sync(device)
    return clock() - start


def _matmul_tflops(budget_s: float, dtype: torch.dtype, device: torch.device,
                   clock: Callable[[], float]) -> tuple[float, int]:
    """Best achieved TFLOP/s of square n x n matmuls (2 n^3 FLOPs each), and the n used."""
    t0 = clock()
    max_n = _MAX_N.get(device.type, _MAX_N["cpu"])
    n = _START_N
    while True:
        a = torch.randn(n, n, dtype=dtype, device=device)
        b = torch.randn(n, n, dtype=dtype, device=device)
        elapsed = _timed(lambda a=a, b=b: a @ b, device, clock)
        if elapsed >= _MIN_MATMUL_S or n >= max_n or clock() - t0 >= budget_s / 2:
            break
        n *= 2
    best = math.inf
    # Best of several: the first calls pay thread-pool start-up and page faults, later ones do not.
    for _ in range(_MAX_REPEATS):
        best = min(best, _timed(lambda: a @ b, device, clock))
        if clock() - t0 >= budget_s:
            break
    return 2.0 * n**3 / max(best, 1e-12) / 1e12, n


def _copy_bandwidth_gbs(budget_s: float, device: torch.device, clock: Callable[[], float]) -> float:
    """Best achieved GB/s of one large copy, counting bytes read + bytes written (as STREAM does).

    On a CPU a write may also read the target line first (write-allocate); that traffic is not
    counted, so the figure is what a copy-like training kernel sees, not the bus peak.
    """
    t0 = clock()
    src = torch.full((_COPY_BYTES // 4,), 1.0, dtype=torch.float32, device=device)  # no RNG: fast
    dst = torch.empty_like(src)
    dst.copy_(src)                                  # first touch: page faults are not bandwidth
    best = math.inf
    for _ in range(_MAX_REPEATS):
        best = min(best, _timed(lambda: dst.copy_(src), device, clock))
        if clock() - t0 >= budget_s:
            break
    return 2.0 * src.nbytes / max(best, 1e-12) / 1e9


def measure_op_overhead_s(ops: int = 2000, clock: Callable[[], float] = time.perf_counter) -> float:
    """Host time to dispatch one tiny eager op (a 1-element in-place add), best of 3 runs, s.

    Every op of an eager training step pays at least this much on the host, on any GPU: it is
    the floor under a cloud GPU's step time that FLOPs and bytes alone do not see."""
    x = torch.zeros(1)
    best = math.inf
    for _ in range(3):
        t0 = clock()
        for _ in range(ops):
            x.add_(1.0)
        best = min(best, (clock() - t0) / ops)
    return best


def measure_cpu_standin(seconds: float = STANDIN_S, *, dtype: torch.dtype = torch.float32,
                        clock: Callable[[], float] = time.perf_counter,
                        device: torch.device | str = "cpu") -> LocalDevice:
    """Measure achieved matmul TFLOP/s and copy GB/s on `device` within about `seconds` s.

    Uses the threads torch is configured with (torch.get_num_threads()), i.e. what the user's
    training gets. With device="cuda" the same timings run on the GPU with a sync at each edge;
    the caller relabels the result (see identify_local_device).
    """
    if seconds <= 0:
        raise ValueError(f"seconds must be positive, got {seconds}")
    dev = torch.device(device)
    with torch.no_grad():
        tflops, n = _matmul_tflops(seconds * _MATMUL_SHARE, dtype, dev, clock)
        bandwidth_gbs = _copy_bandwidth_gbs(seconds * (1 - _MATMUL_SHARE), dev, clock)
    dtype_name = str(dtype).removeprefix("torch.")
    if dev.type == "cpu":
        name = f"CPU ({torch.get_num_threads()} threads)"
        where = f"{torch.get_num_threads()} torch threads"
    else:
        name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else str(dev)
        where = str(dev)
    source = (f"measured here: best {dtype_name} {n}x{n} matmul and a "
              f"{_COPY_BYTES // 2**20} MiB copy (bytes read+written) on {where}")
    return LocalDevice(name=name, kind="cpu" if dev.type == "cpu" else "gpu", spec=None,
                       achieved_tflops=tflops, achieved_bandwidth_gbs=bandwidth_gbs,
                       method="measured-cpu-standin", source=source,
                       op_overhead_s=measure_op_overhead_s(clock=clock))


def identify_local_device(specs: Sequence[GpuSpec], *, cuda_name: str | None = None,
                          measure: Callable[..., LocalDevice] = measure_cpu_standin) -> LocalDevice:
    """Describe the device training runs on: spec row, measured stand-in, or labelled unknown GPU.

    cuda_name overrides the detected GPU name (torch.cuda.get_device_name of the current device).
    An unknown GPU is timed on the GPU itself when CUDA is present; when a name is given but no
    CUDA device is here, it is returned with no figures and says so (nothing can stand in).
    """
    cuda_present = torch.cuda.is_available()
    name = cuda_name
    if name is None and cuda_present:
        name = torch.cuda.get_device_name(torch.cuda.current_device())
    if name is None:
        return measure()
    spec = find_gpu(name, specs)
    if spec is not None:
        return LocalDevice(name=name, kind="gpu", spec=spec, achieved_tflops=None,
                           achieved_bandwidth_gbs=None, method="spec-table",
                           source=f"spec row '{spec.name}': {spec.source}",
                           op_overhead_s=measure_op_overhead_s())
    if not cuda_present:
        return LocalDevice(name=name, kind="gpu", spec=None, achieved_tflops=None,
                           achieved_bandwidth_gbs=None, method="unknown-gpu",
                           source=f"GPU '{name}' is not in the spec table and no CUDA device is "
                                  "here to time; no throughput figures")
    measured = measure(device=torch.device("cuda", torch.cuda.current_device()))
    return replace(measured, name=name, kind="gpu", spec=None, method="unknown-gpu",
                   source=f"GPU '{name}' is not in the spec table; fallback: {measured.source}")
