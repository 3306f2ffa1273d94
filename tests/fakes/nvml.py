"""A fake pynvml: N simulated GPUs, deterministic, no driver, no sleeping.

Pass a :class:`FakeNvml` wherever greenlove takes the NVML module. Names and numeric constants
are those of nvidia-ml-py (tests/measure/test_nvml.py checks them against the real module). Every
measurement call (energy counter, instant-power field, power usage) counts as one read of that
GPU and advances its energy counter by ``energy_step_mj``: time is the number of reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

NVML_SUCCESS = 0
NVML_ERROR_UNINITIALIZED = 1
NVML_ERROR_INVALID_ARGUMENT = 2
NVML_ERROR_NOT_SUPPORTED = 3
NVML_ERROR_NO_PERMISSION = 4
NVML_ERROR_NOT_FOUND = 6
NVML_ERROR_DRIVER_NOT_LOADED = 9
NVML_ERROR_LIBRARY_NOT_FOUND = 12
NVML_ERROR_FUNCTION_NOT_FOUND = 13
NVML_ERROR_GPU_IS_LOST = 15
NVML_ERROR_LIB_RM_VERSION_MISMATCH = 18
NVML_ERROR_UNKNOWN = 999
NVML_FI_DEV_POWER_INSTANT = 186
NVML_DEVICE_ARCH_PASCAL = 4
NVML_DEVICE_ARCH_VOLTA = 5
NVML_DEVICE_ARCH_TURING = 6
NVML_DEVICE_ARCH_AMPERE = 7
NVML_DEVICE_ARCH_ADA = 8
NVML_DEVICE_ARCH_HOPPER = 9
NVML_DEVICE_ARCH_BLACKWELL = 10
NVML_DEVICE_ARCH_UNKNOWN = 0xFFFFFFFF

CONSTANT_NAMES = tuple(name for name in dir() if name.startswith("NVML_"))

_MESSAGES = {
    NVML_ERROR_UNINITIALIZED: "Uninitialized",
    NVML_ERROR_NOT_SUPPORTED: "Not Supported",
    NVML_ERROR_NO_PERMISSION: "Insufficient Permissions",
    NVML_ERROR_DRIVER_NOT_LOADED: "Driver Not Loaded",
    NVML_ERROR_LIBRARY_NOT_FOUND: "NVML Shared Library Not Found",
    NVML_ERROR_FUNCTION_NOT_FOUND: "Function Not Found",
    NVML_ERROR_GPU_IS_LOST: "GPU is lost",
    NVML_ERROR_LIB_RM_VERSION_MISMATCH: "RM has detected an NVML/RM version mismatch.",
    NVML_ERROR_UNKNOWN: "Unknown Error",
}


class NVMLError(Exception):
    """Like pynvml's: ``.value`` is the NVML return code, ``str()`` its message."""

    def __init__(self, value: int) -> None:
        super().__init__(value)
        self.value = value

    def __str__(self) -> str:
        return _MESSAGES.get(self.value, f"NVML error {self.value}")


@dataclass
class FakeGpu:
    """One simulated GPU. Powers in mW, energies in mJ, as NVML gives them."""

    name: str = "NVIDIA H100 80GB HBM3"
    uuid: str = "GPU-00000000-0000-0000-0000-000000000000"
    architecture: int = NVML_DEVICE_ARCH_HOPPER
    energy_counter: bool = True         # False: nvmlDeviceGetTotalEnergyConsumption NOT_SUPPORTED
    instant_power: bool = True          # False: the instant-power field reports NOT_SUPPORTED
    power_usage: bool = True            # False: nvmlDeviceGetPowerUsage NOT_SUPPORTED
    no_permission: bool = False         # every measurement call fails with NO_PERMISSION
    power_mw: int = 300_000
    power_limit_mw: int | None = 700_000
    energy_start_mj: int = 5_000_000
    energy_step_mj: int = 30_000        # added to the counter by every read
    lost_after_reads: int | None = None  # reads that succeed before GPU_IS_LOST
    reset_after_reads: int | None = None  # the counter restarts from 0 after this many reads
    as_bytes: bool = False              # name and UUID returned as bytes (older nvidia-ml-py)
    processes: tuple[tuple[int, int | None], ...] = ()   # (pid, bytes) of compute processes
    reads: int = 0


class FakeNvml:
    """The module-like fake. ``init_error``: the NVML code nvmlInit fails with, or None."""

    NVMLError = NVMLError

    def __init__(self, *gpus: FakeGpu, init_error: int | None = None) -> None:
        for name in CONSTANT_NAMES:
            setattr(self, name, globals()[name])
        self.gpus = list(gpus)
        self.init_error = init_error
        self.init_calls = self.shutdown_calls = 0

    # -- library ---------------------------------------------------------------------------
    def nvmlInit(self) -> None:
        if self.init_error is not None:
            raise NVMLError(self.init_error)
        self.init_calls += 1

    def nvmlShutdown(self) -> None:
        self._check_init()
        self.shutdown_calls += 1

    def _check_init(self) -> None:
        if self.init_calls <= self.shutdown_calls:   # NVML counts inits the same way
            raise NVMLError(NVML_ERROR_UNINITIALIZED)

    def nvmlDeviceGetCount(self) -> int:
        self._check_init()
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> FakeGpu:
        self._check_init()
        if not 0 <= index < len(self.gpus):
            raise NVMLError(NVML_ERROR_INVALID_ARGUMENT)
        return self.gpus[index]

    # -- identity --------------------------------------------------------------------------
    def nvmlDeviceGetName(self, gpu: FakeGpu) -> bytes | str:
        self._check_init()
        return gpu.name.encode() if gpu.as_bytes else gpu.name

    def nvmlDeviceGetUUID(self, gpu: FakeGpu) -> bytes | str:
        self._check_init()
        return gpu.uuid.encode() if gpu.as_bytes else gpu.uuid

    def nvmlDeviceGetArchitecture(self, gpu: FakeGpu) -> int:
        self._check_init()
        return gpu.architecture

    def nvmlDeviceGetEnforcedPowerLimit(self, gpu: FakeGpu) -> int:
        self._check_init()
        if gpu.power_limit_mw is None:
            raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
        return gpu.power_limit_mw

    # -- measurements ----------------------------------------------------------------------
    def _read(self, gpu: FakeGpu, supported: bool) -> None:
        self._check_init()
        if gpu.lost_after_reads is not None and gpu.reads >= gpu.lost_after_reads:
            raise NVMLError(NVML_ERROR_GPU_IS_LOST)
        if gpu.no_permission:
            raise NVMLError(NVML_ERROR_NO_PERMISSION)
        if not supported:
            raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
        gpu.reads += 1

    def nvmlDeviceGetTotalEnergyConsumption(self, gpu: FakeGpu) -> int:
        self._read(gpu, gpu.energy_counter)
        if gpu.reset_after_reads is not None and gpu.reads > gpu.reset_after_reads:
            return (gpu.reads - gpu.reset_after_reads) * gpu.energy_step_mj
        return gpu.energy_start_mj + gpu.reads * gpu.energy_step_mj

    def nvmlDeviceGetComputeRunningProcesses(self, gpu: FakeGpu) -> list[Any]:
        self._check_init()
        return [SimpleNamespace(pid=pid, usedGpuMemory=memory) for pid, memory in gpu.processes]

    def nvmlDeviceGetPowerUsage(self, gpu: FakeGpu) -> int:
        self._read(gpu, gpu.power_usage)
        return gpu.power_mw

    def nvmlDeviceGetFieldValues(self, gpu: FakeGpu, field_ids: list[int]) -> list[Any]:
        # As in NVML, the call succeeds and each field carries its own return code.
        try:
            self._read(gpu, gpu.instant_power)
            status = NVML_SUCCESS
        except NVMLError as error:
            if error.value == NVML_ERROR_GPU_IS_LOST:
                raise
            status = error.value
        values = []
        for field_id in field_ids:
            known = field_id == NVML_FI_DEV_POWER_INSTANT
            values.append(SimpleNamespace(
                fieldId=field_id, nvmlReturn=status if known else NVML_ERROR_NOT_SUPPORTED,
                value=SimpleNamespace(uiVal=gpu.power_mw if known and status == 0 else 0)))
        return values


def gpu(index: int, **settings: Any) -> FakeGpu:
    """A FakeGpu with a UUID derived from ``index`` ("GPU-<index*8>-...")."""
    digit = "0123456789abcdef"[index % 16]
    settings.setdefault("uuid", f"GPU-{digit * 8}-1111-2222-3333-444444444444")
    return FakeGpu(**settings)
