"""NVIDIA GPU meters through nvidia-ml-py (NVML), with the NVML module injected.

Each visible GPU gets the best method it supports, tried in this order:

- "nvml-energy-counter": ``nvmlDeviceGetTotalEnergyConsumption``, millijoules since the driver
  loaded (Volta and newer). Exact between any two reads, however far apart.
- "nvml-power-instant": the ``NVML_FI_DEV_POWER_INSTANT`` field value, milliwatts now.
- "nvml-power-average": ``nvmlDeviceGetPowerUsage``, milliwatts; on Ampere and newer (except
  GA100 parts) a 1-second average, so short epochs come out smoothed.

A GPU that can be seen but not measured becomes a :class:`NullMeter` with the reason. pynvml is
imported only when :func:`open_nvidia_meters` is called without a module, never at import time.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Callable, Mapping
from typing import Any

from .base import KIND_GPU, Meter, MeterError, MeterReading, NullMeter

METHOD_ENERGY = "nvml-energy-counter"
METHOD_POWER_INSTANT = "nvml-power-instant"
METHOD_POWER_AVERAGE = "nvml-power-average"
NOTE_ONE_SECOND_AVERAGE = ("power is a 1-second average on this GPU: epochs shorter than a few "
                           "seconds are smoothed")
# GA100 parts (A100, A30, A800) report instantaneous power although they are Ampere; word
# boundaries keep "RTX A3000" (GA104, averaged) out.
_GA100_NAME = re.compile(r"\bA(100|30|800)\b")
_ARCH_AMPERE, _ARCH_UNKNOWN = 7, 0xFFFFFFFF   # pynvml's values, used where the module lacks them

NvmlModule = Any
"""pynvml, or any object with the same names (tests pass a fake)."""


def _import_pynvml() -> NvmlModule:
    import pynvml  # here, not at module level: importing greenlove probes no hardware

    return pynvml


def open_nvidia_meters(nvml: NvmlModule | None = None, env: Mapping[str, str] | None = None, *,
                       load_nvml: Callable[[], NvmlModule] = _import_pynvml) -> list[Meter]:
    """One meter per GPU this process can see (``[]`` when CUDA_VISIBLE_DEVICES hides them all).

    ``nvml``: the NVML module (default: ``load_nvml()``, which imports pynvml). ``env``: the
    environment (default ``os.environ``). CUDA_VISIBLE_DEVICES is read with CUDA's rules:
    unset means every GPU; entries are indices or (prefixes of) "GPU-..." UUIDs; the list ends
    at the first invalid entry ("" and "-1" hide every GPU); a repeated GPU hides them all.
    Integer indices are mapped in NVML order, which is PCI bus order: it matches CUDA's order
    when CUDA_DEVICE_ORDER=PCI_BUS_ID or when the GPUs are identical (CUDA's default order puts
    the fastest first). "MIG-..." entries get a NullMeter: NVML reads no power per MIG instance.
    Meter names use the CUDA-visible index ("GPU 0: NVIDIA H100 80GB HBM3").

    Raises :class:`MeterError` when NVML cannot start, with the cause and the fix. The meters
    share one ``nvmlInit``; ``nvmlShutdown`` runs once, when the last of them is closed.
    """
    env = os.environ if env is None else env
    entries = _visible_entries(env.get("CUDA_VISIBLE_DEVICES"))
    if entries == []:
        return []   # no GPU is visible: NVML need not even be present
    if nvml is None:
        try:
            nvml = load_nvml()
        except ImportError as error:
            raise MeterError("GPU energy cannot be measured: the nvidia-ml-py package is not "
                             "installed (pip install nvidia-ml-py)") from error
    try:
        nvml.nvmlInit()
    except nvml.NVMLError as error:
        raise MeterError(_init_message(nvml, error)) from error
    session = _NvmlSession(nvml)
    meters: list[Meter] = []
    try:
        count = nvml.nvmlDeviceGetCount()
        handles: list[Any] = []
        uuids: list[str] = []
        for index in range(count):
            try:
                handle = nvml.nvmlDeviceGetHandleByIndex(index)
                handles.append(handle)
                uuids.append(_text(nvml.nvmlDeviceGetUUID(handle)))
            except nvml.NVMLError as error:   # one broken GPU must not hide the others
                handles.append(error)
                uuids.append("")
        chosen = list(range(count)) if entries is None else _resolve(entries, uuids)
        for visible, pick in enumerate(chosen):
            meters.append(_open_gpu(nvml, session, visible, pick, handles, uuids))
    except BaseException as error:
        for meter in meters:
            meter.close()
        if isinstance(error, nvml.NVMLError):
            raise MeterError(f"NVML could not list the GPUs: {error}") from error
        raise
    finally:
        session.release()   # the opener's reference: from here on only the meters hold NVML
    return meters


def _visible_entries(value: str | None) -> list[int | str] | None:
    """CUDA_VISIBLE_DEVICES as entries (ints, "GPU-..." or "MIG-..."), or None when unset."""
    if value is None:
        return None
    entries: list[int | str] = []
    for item in value.split(","):
        item = item.strip()
        digits = re.match(r"\d+", item)   # like CUDA's strtoul: "1gpu" reads as 1
        if digits:
            entries.append(int(digits.group()))
        elif item.startswith(("GPU-", "MIG-")):
            entries.append(item)
        else:
            break   # CUDA: an invalid entry ends the list ("" and "-1" included)
    return entries


def _resolve(entries: list[int | str], uuids: list[str]) -> list[int | str]:
    """NVML indices (or MIG entries) of the visible GPUs, in CUDA-visible order."""
    chosen: list[int | str] = []
    for entry in entries:
        if isinstance(entry, str) and entry.startswith("MIG-"):
            chosen.append(entry)
            continue
        if isinstance(entry, int):
            index = entry if entry < len(uuids) else None
        else:
            matches = [i for i, uuid in enumerate(uuids) if uuid and uuid.startswith(entry)]
            index = matches[0] if len(matches) == 1 else None   # unknown or ambiguous prefix
        if index is None:
            break
        if index in chosen:
            return []   # CUDA: a repeated device makes the whole list invalid
        chosen.append(index)
    return chosen


def _open_gpu(nvml: NvmlModule, session: _NvmlSession, visible: int, pick: int | str,
              handles: list[Any], uuids: list[str]) -> Meter:
    if isinstance(pick, str):
        return NullMeter(f"GPU {visible}: {pick}", KIND_GPU,
                         "NVML reads no energy or power per MIG instance, only for the whole GPU")
    handle, uuid = handles[pick], uuids[pick]
    if isinstance(handle, Exception):
        return NullMeter(f"GPU {visible}", KIND_GPU, f"NVML could not open it: {handle}")
    try:
        name = f"GPU {visible}: {_text(nvml.nvmlDeviceGetName(handle))}"
    except nvml.NVMLError as error:
        return NullMeter(f"GPU {visible}", KIND_GPU, f"NVML could not read its name: {error}")
    failures: list[tuple[str, Any, str]] = []   # (method, NVML code, message)
    skip = {nvml.NVML_ERROR_NOT_SUPPORTED, nvml.NVML_ERROR_FUNCTION_NOT_FOUND,
            nvml.NVML_ERROR_NO_PERMISSION}
    field_id = getattr(nvml, "NVML_FI_DEV_POWER_INSTANT", None)   # absent from old nvidia-ml-py
    probes: list[tuple[str, Callable[[], MeterReading]]] = [
        (METHOD_ENERGY,
         lambda: MeterReading(energy_j=nvml.nvmlDeviceGetTotalEnergyConsumption(handle) / 1000)),
        (METHOD_POWER_AVERAGE,
         lambda: MeterReading(power_w=nvml.nvmlDeviceGetPowerUsage(handle) / 1000)),
    ]
    if field_id is not None:
        probes.insert(1, (METHOD_POWER_INSTANT, lambda: _instant_power(nvml, handle, field_id)))
    for method, read in probes:
        try:
            read()
        except nvml.NVMLError as error:
            code = getattr(error, "value", None)
            if code not in skip:
                return NullMeter(name, KIND_GPU, f"NVML failed to read it: {error}")
            failures.append((method, code, str(error)))
            continue
        note = ""
        if method == METHOD_POWER_AVERAGE and _averages_one_second(nvml, handle, name):
            note = NOTE_ONE_SECOND_AVERAGE
        return _NvmlMeter(nvml, session, name=name, method=method, note=note, uuid=uuid,
                          tdp_w=_power_limit_w(nvml, handle), read=read, handle=handle)
    if all(code == nvml.NVML_ERROR_NO_PERMISSION for _, code, _ in failures):
        return NullMeter(name, KIND_GPU, "no permission to read its energy or power (NVML: "
                         "Insufficient Permissions); on some systems only root or the video group may")
    return NullMeter(name, KIND_GPU, "NVML gives neither energy nor power for it ("
                     + "; ".join(f"{method}: {text}" for method, _, text in failures) + ")")


def _instant_power(nvml: NvmlModule, handle: Any, field_id: int) -> MeterReading:
    value = nvml.nvmlDeviceGetFieldValues(handle, [field_id])[0]
    if value.nvmlReturn != 0:   # the call succeeds as a whole; each field has its own status
        raise nvml.NVMLError(value.nvmlReturn)
    return MeterReading(power_w=value.value.uiVal / 1000)


def _averages_one_second(nvml: NvmlModule, handle: Any, name: str) -> bool:
    try:
        arch = nvml.nvmlDeviceGetArchitecture(handle)
    except nvml.NVMLError:
        return False   # unknown: claim nothing rather than a wrong limit
    ampere = getattr(nvml, "NVML_DEVICE_ARCH_AMPERE", _ARCH_AMPERE)
    unknown = getattr(nvml, "NVML_DEVICE_ARCH_UNKNOWN", _ARCH_UNKNOWN)
    return ampere <= arch < unknown and not _GA100_NAME.search(name)


def _power_limit_w(nvml: NvmlModule, handle: Any) -> float | None:
    try:
        return nvml.nvmlDeviceGetEnforcedPowerLimit(handle) / 1000
    except nvml.NVMLError:
        return None


def _init_message(nvml: NvmlModule, error: Exception) -> str:
    code = getattr(error, "value", None)
    causes = {
        nvml.NVML_ERROR_LIBRARY_NOT_FOUND:
            "the NVIDIA driver's NVML library (libnvidia-ml.so.1) was not found: no NVIDIA driver "
            "is installed, or (in a container) the GPU was not passed through (docker --gpus all)",
        nvml.NVML_ERROR_DRIVER_NOT_LOADED:
            "the NVIDIA driver is not loaded: load it (sudo modprobe nvidia) or reboot; "
            "`nvidia-smi` shows the same error until then",
        nvml.NVML_ERROR_LIB_RM_VERSION_MISMATCH:
            "the NVML library and the loaded NVIDIA kernel driver are different versions "
            "(the driver was updated without a reboot): reboot, or reload the nvidia modules",
        nvml.NVML_ERROR_NO_PERMISSION:
            "no permission to open the NVIDIA devices (/dev/nvidia*): add your user to the group "
            "that owns them, or ask the administrator",
    }
    return f"GPU energy cannot be measured: {causes.get(code, f'NVML failed to start ({error})')}"


def _read_message(name: str, nvml: NvmlModule, error: Exception) -> str:
    if getattr(error, "value", None) == nvml.NVML_ERROR_GPU_IS_LOST:
        return (f"{name}: GPU lost (it fell off the bus or its driver reset); check `nvidia-smi` "
                "and the kernel log")
    return f"{name}: NVML read failed: {error}"


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


class _NvmlSession:
    """One nvmlInit shared by the meters opened together; nvmlShutdown after the last close."""

    def __init__(self, nvml: NvmlModule) -> None:
        self._nvml, self._users, self._lock = nvml, 1, threading.Lock()   # 1: the opener

    def acquire(self) -> None:
        with self._lock:
            self._users += 1

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users != 0:
                return
        # A failing shutdown leaves nothing the user could act on.
        with contextlib.suppress(self._nvml.NVMLError):
            self._nvml.nvmlShutdown()


class _NvmlMeter:
    """A GPU read through NVML. ``tdp_w``: the enforced power limit (W), None if unknown."""

    kind = KIND_GPU

    def __init__(self, nvml: NvmlModule, session: _NvmlSession, *, name: str, method: str,
                 note: str, uuid: str, tdp_w: float | None,
                 read: Callable[[], MeterReading], handle: Any = None) -> None:
        self.name, self.method, self.note, self.uuid, self.tdp_w = name, method, note, uuid, tdp_w
        self._nvml, self._session, self._read, self._handle = nvml, session, read, handle
        self._last_energy_j: float | None = None
        self._closed = False
        session.acquire()

    def read(self) -> MeterReading:
        """Cumulative energy (J) for the counter method, else power now (W)."""
        if self._closed:
            raise MeterError(f"{self.name}: the meter is closed")
        try:
            reading = self._read()
        except self._nvml.NVMLError as error:
            raise MeterError(_read_message(self.name, self._nvml, error)) from error
        if reading.energy_j is not None:
            # The counter only resets with the driver; across a reset this run's energy is lost.
            if self._last_energy_j is not None and reading.energy_j < self._last_energy_j:
                raise MeterError(f"{self.name}: energy counter went backwards (driver reset?) from "
                                 f"{self._last_energy_j:.3f} J to {reading.energy_j:.3f} J")
            self._last_energy_j = reading.energy_j
        return reading

    def processes(self) -> dict[int, int | None] | None:
        """Every process NVML lists on this GPU (compute and graphics): pid -> GPU memory in
        bytes (None where not reported); None where NVML cannot list them."""
        if self._closed or self._handle is None:
            return None
        found: dict[int, int | None] = {}
        listed = False
        for getter in ("nvmlDeviceGetComputeRunningProcesses",
                       "nvmlDeviceGetGraphicsRunningProcesses"):
            function = getattr(self._nvml, getter, None)
            if function is None:
                continue
            try:
                running = function(self._handle)
            except self._nvml.NVMLError:
                continue
            listed = True
            for process in running:
                memory = getattr(process, "usedGpuMemory", None)
                found[int(process.pid)] = memory if isinstance(memory, int) else None
        return found if listed else None

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._session.release()

    def __repr__(self) -> str:
        return f"<NVML meter {self.name!r} method={self.method!r}>"
