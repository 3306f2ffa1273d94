"""Memory power estimated per GB of installed memory (used where RAPL has no DRAM domain).

The figure is Green Algorithms' (Lannelongue, Grealey & Inouye 2021, Advanced Science
8:2100707): 0.3725 W per GB of memory available, whatever its use. Memory sizes in that
source are the "GB" in which memory is sold and reported (a "16 GB" module holds 16 GiB),
so greenlove divides the byte count by 2**30.
"""

from __future__ import annotations

from .base import KIND_RAM, MeterReading

RAM_W_PER_GB = 0.3725
RAM_W_PER_GB_SOURCE = (
    "Green Algorithms (Lannelongue, Grealey & Inouye 2021, Advanced Science 8:2100707): "
    "0.3725 W per GB of memory available; the value of power_memory_perGB in "
    "GreenAlgorithms4HPC's fixed_parameters.yaml and memoryPower in the Green Algorithms "
    "calculator's data/v2.2/referenceValues.csv (github.com/GreenAlgorithms). Some later "
    "copies of the calculator's reference values list 0.08 W per GB; greenlove keeps the "
    "paper's figure, the higher of the two"
)
BYTES_PER_GB = 2**30  # memory "GB" as sold and reported: GiB


class RamEstimateMeter:
    """A constant power: ``w_per_gb`` x installed memory in GB (GiB). An estimate, labelled."""

    kind = KIND_RAM
    method = "ram-estimate"

    def __init__(self, total_bytes: int | None = None, w_per_gb: float = RAM_W_PER_GB) -> None:
        if total_bytes is None:
            import psutil

            total_bytes = int(psutil.virtual_memory().total)
        if total_bytes <= 0:
            raise ValueError(f"total_bytes must be > 0, not {total_bytes}")
        if not w_per_gb > 0:
            raise ValueError(f"w_per_gb must be > 0, not {w_per_gb}")
        self.total_bytes, self.w_per_gb = total_bytes, w_per_gb
        self.total_gb = total_bytes / BYTES_PER_GB
        self.power_w = w_per_gb * self.total_gb
        self.name = f"RAM ({self.total_gb:.1f} GB)"
        source = "Green Algorithms" if w_per_gb == RAM_W_PER_GB else "user-given"
        self.note = (f"Estimate, not a measurement: {w_per_gb:g} W per GB ({source}) x "
                     f"{self.total_gb:.1f} GB installed = {self.power_w:.1f} W, constant whatever the "
                     f"memory's use.")

    def read(self) -> MeterReading:
        return MeterReading(power_w=self.power_w)

    def assumptions(self) -> dict[str, dict[str, object]]:
        """The constant this estimate rests on, with its source (for the report)."""
        return {"ram_w_per_gb": {
            "value": self.w_per_gb, "unit": "W per GB (GiB) of installed memory",
            "source": RAM_W_PER_GB_SOURCE if self.w_per_gb == RAM_W_PER_GB else "given by the user",
        }}

    def close(self) -> None:
        return None
