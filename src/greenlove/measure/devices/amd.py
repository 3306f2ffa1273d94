"""AMD GPUs through amdsmi (ROCm's AMD SMI Python bindings), an optional dependency.

Per GPU, the cumulative energy accumulator (``amdsmi_get_energy_count``) is preferred; where
it is not supported (virtual machine guests, some GPUs), socket power is polled instead
(``amdsmi_get_power_info``). The module is injected (``amdsmi=``) so tests run against a fake.
Every amdsmi exception is translated to :class:`MeterError` here.
"""

from __future__ import annotations

import contextlib
import io
import math
import threading
from types import ModuleType
from typing import Any

from .base import KIND_GPU, Meter, MeterError, MeterReading, NullMeter

NOT_INSTALLED = "amdsmi not installed: pip install amdsmi (AMD GPUs only)"

# The energy counter's key: "power" in older amdsmi releases, "energy_accumulator" in newer ones.
_COUNTER_KEYS = ("energy_accumulator", "power")
# Socket power in watts: "current_socket_power" where the GPU reports it (MI300 and newer),
# else "average_socket_power"; amdsmi writes "N/A" for a field the GPU does not report.
_POWER_KEYS = ("current_socket_power", "average_socket_power")


def _import_amdsmi() -> ModuleType:
    # amdsmi prints to stdout when libamd_smi.so is missing, then fails with KeyError or OSError.
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            import amdsmi
    except ImportError as exc:
        raise MeterError(NOT_INSTALLED) from exc
    except Exception as exc:
        said = " ".join(printed.getvalue().split())
        raise MeterError(
            f"amdsmi is installed but cannot load ROCm's libamd_smi.so ({said or repr(exc)}); "
            f"install ROCm's amd-smi-lib"
        ) from exc
    return amdsmi


def _number(value: Any) -> float | None:
    """A finite, non-negative number, or None for "N/A" and the like."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number >= 0 else None


class _Session:
    """One amdsmi_init shared by the meters of one open_amd_meters call; shut down with the last."""

    def __init__(self, amdsmi: Any, error: type[BaseException]) -> None:
        self.amdsmi, self.error = amdsmi, error
        self._open = 0
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            self._open += 1

    def release(self) -> None:
        with self._lock:
            self._open -= 1
            last = self._open == 0
        if last:
            with contextlib.suppress(Exception):  # closing must not fail the report
                self.amdsmi.amdsmi_shut_down()


class _AmdMeter:
    kind = KIND_GPU

    def __init__(self, session: _Session, handle: Any, name: str) -> None:
        self._session, self._handle, self.name = session, handle, name
        self._closed = False
        session.acquire()

    def read(self) -> MeterReading:
        if self._closed:
            raise MeterError(f"{self.name}: meter is closed")
        try:
            return self._read()
        except self._session.error as exc:
            raise MeterError(f"{self.name}: amdsmi error: {exc}") from exc

    def _read(self) -> MeterReading:
        raise NotImplementedError

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._session.release()


class AmdEnergyMeter(_AmdMeter):
    """The GPU's energy accumulator x its resolution (microjoules), since the meter was opened."""

    method = "amdsmi-energy-counter"
    note = "Cumulative energy counter of the whole GPU (all processes)."

    def __init__(self, session: _Session, handle: Any, name: str, first_count: float,
                 resolution_uj: float) -> None:
        super().__init__(session, handle, name)
        self._first, self._last, self._resolution_uj = first_count, first_count, resolution_uj

    def _read(self) -> MeterReading:
        count, _ = _energy_count(self._session.amdsmi.amdsmi_get_energy_count(self._handle))
        if count is None:
            raise MeterError(f"{self.name}: amdsmi returned no energy counter")
        if count < self._last:
            raise MeterError(f"{self.name}: energy counter went backwards ({self._last:g} -> {count:g}); "
                             f"was the GPU reset?")
        self._last = count
        return MeterReading(energy_j=(count - self._first) * self._resolution_uj * 1e-6)


class AmdPowerMeter(_AmdMeter):
    """Socket power in watts, polled."""

    method = "amdsmi-power"
    note = "Socket power polled (no energy counter here): energy between polls is interpolated."

    def __init__(self, session: _Session, handle: Any, name: str, key: str) -> None:
        super().__init__(session, handle, name)
        self._key = key

    def _read(self) -> MeterReading:
        info = self._session.amdsmi.amdsmi_get_power_info(self._handle)
        watts = _number(info.get(self._key)) if isinstance(info, dict) else None
        if watts is None:
            raise MeterError(f"{self.name}: amdsmi reports no {self._key} now")
        return MeterReading(power_w=watts)


def _energy_count(info: Any) -> tuple[float | None, float | None]:
    """(counter, resolution in uJ) from amdsmi_get_energy_count's dict, whichever key it uses."""
    if not isinstance(info, dict):
        return None, None
    counter = next((_number(info[k]) for k in _COUNTER_KEYS if k in info), None)
    return counter, _number(info.get("counter_resolution"))


def _gpu_name(amdsmi: Any, handle: Any, index: int, error: type[BaseException]) -> str:
    try:
        market = amdsmi.amdsmi_get_gpu_asic_info(handle).get("market_name")
    except (error, AttributeError, TypeError):
        market = None
    market = str(market).strip() if market else ""
    return f"GPU {index}: {market}" if market and market != "N/A" else f"GPU {index}: AMD GPU"


def _open_one(amdsmi: Any, session: _Session, handle: Any, index: int) -> Meter:
    error = session.error
    name = _gpu_name(amdsmi, handle, index, error)
    try:
        counter, resolution = _energy_count(amdsmi.amdsmi_get_energy_count(handle))
    except error:
        counter = resolution = None  # not supported here (VM guests, some GPUs): poll power instead
    if counter is not None and resolution:
        return AmdEnergyMeter(session, handle, name, counter, resolution)
    try:
        info = amdsmi.amdsmi_get_power_info(handle)
    except error as exc:
        return NullMeter(name, KIND_GPU, f"amdsmi reads neither energy nor power: {exc}")
    for key in _POWER_KEYS:
        if isinstance(info, dict) and _number(info.get(key)) is not None:
            return AmdPowerMeter(session, handle, name, key)
    return NullMeter(name, KIND_GPU, "amdsmi reports neither an energy counter nor socket power")


def open_amd_meters(amdsmi: ModuleType | Any | None = None) -> list[Meter]:
    """One meter per AMD GPU that amdsmi sees ([] when it sees none).

    Raises :class:`MeterError` when amdsmi is missing or cannot start. A GPU that can be
    neither read for energy nor power comes back as a :class:`NullMeter` with the reason.
    """
    if amdsmi is None:
        amdsmi = _import_amdsmi()
    error: type[BaseException] = getattr(amdsmi, "AmdSmiException", Exception)
    try:
        amdsmi.amdsmi_init()
    except error as exc:
        raise MeterError(f"amdsmi could not start: {exc}") from exc
    session = _Session(amdsmi, error)
    session.acquire()  # held while opening, so a GPU that fails does not shut the library down
    meters: list[Meter] = []
    try:
        for index, handle in enumerate(list(amdsmi.amdsmi_get_processor_handles())):
            meters.append(_open_one(amdsmi, session, handle, index))
    except error as exc:
        for meter in meters:
            meter.close()
        raise MeterError(f"amdsmi could not list the GPUs: {exc}") from exc
    finally:
        session.release()
    return meters
