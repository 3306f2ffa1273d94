"""A fake amdsmi module: the part of its API greenlove uses."""

from __future__ import annotations

from typing import Any


class FakeAmdSmiException(Exception):
    pass


class FakeAmdSmi:
    """The part of amdsmi greenlove uses. ``gpus``: one dict per GPU with the values to return
    ("energy": dict or exception, "power": dict or exception, "asic": dict)."""

    AmdSmiException = FakeAmdSmiException

    def __init__(self, *gpus: dict[str, Any], init_error: bool = False) -> None:
        self.gpus = list(gpus)
        self.init_error = init_error
        self.inits = self.shutdowns = 0

    def amdsmi_init(self) -> None:
        if self.init_error:
            raise FakeAmdSmiException("AMDSMI_STATUS_DRIVER_NOT_LOADED")
        self.inits += 1

    def amdsmi_shut_down(self) -> None:
        self.shutdowns += 1

    def amdsmi_get_processor_handles(self) -> list[int]:
        return list(range(len(self.gpus)))

    def _get(self, handle: int, key: str) -> Any:
        value = self.gpus[handle].get(key)
        if isinstance(value, Exception):
            raise value
        if value is None:
            raise FakeAmdSmiException("AMDSMI_STATUS_NOT_SUPPORTED")
        return dict(value)

    def amdsmi_get_energy_count(self, handle: int) -> dict[str, Any]:
        return self._get(handle, "energy")

    def amdsmi_get_power_info(self, handle: int) -> dict[str, Any]:
        return self._get(handle, "power")

    def amdsmi_get_gpu_asic_info(self, handle: int) -> dict[str, Any]:
        return self._get(handle, "asic")
