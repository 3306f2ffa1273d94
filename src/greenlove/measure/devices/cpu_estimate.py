"""CPU power estimated from the CPU's rated TDP and the measured utilisation.

Used where RAPL cannot be read. The method is Green Algorithms' (Lannelongue, Grealey & Inouye
2021, "Green Algorithms: Quantifying the Carbon Footprint of Computation", Advanced Science
8:2100707): power = cores x TDP per core x usage. greenlove spreads the TDP over hardware
threads rather than cores, because utilisation and the number of CPUs a machine (or a VM)
offers are both counted in logical CPUs:

    power_w = (tdp_w / threads) x logical_cpus x utilisation

The TDPs come from the package data file ``greenlove/data/cpu_tdp.csv`` (one row per model,
each with the manufacturer's product page). A CPU that is not in the table gets the median
watts per thread over the table, and says so.
"""

from __future__ import annotations

import csv
import io
import os
import platform
import re
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .base import KIND_CPU, MeterError, MeterReading

CPUINFO = Path("/proc/cpuinfo")

GREEN_ALGORITHMS_CITATION = (
    "Green Algorithms: Lannelongue, Grealey & Inouye 2021, Advanced Science 8:2100707, "
    "\"power = cores x TDP per core x usage\""
)


@dataclass(frozen=True)
class CpuTdpRow:
    """One row of ``cpu_tdp.csv``: a model's rated power and its hardware threads."""

    model: str
    tdp_w: float
    cores: int
    threads: int
    source: str
    as_of: str


@dataclass(frozen=True)
class CpuTdp:
    """The power figure used for one CPU model.

    ``model``: the table's model when ``matched``, else the string that was looked up.
    ``tdp_w``, ``threads``: the table's values (None when not matched).
    ``w_per_thread``: watts per hardware thread at full utilisation.
    ``source``: where the figure comes from (a product page, or how the default was computed).
    """

    model: str
    tdp_w: float | None
    threads: int | None
    w_per_thread: float
    source: str
    matched: bool


def load_cpu_table(text: str | None = None) -> tuple[CpuTdpRow, ...]:
    """The rows of ``cpu_tdp.csv`` (or of ``text``, in the same format)."""
    if text is None:
        text = (resources.files("greenlove") / "data" / "cpu_tdp.csv").read_text(encoding="utf-8")
    rows = []
    for record in csv.DictReader(io.StringIO(text)):
        rows.append(CpuTdpRow(
            model=record["model"].strip(), tdp_w=float(record["tdp_w"]), cores=int(record["cores"]),
            threads=int(record["threads"]), source=record["source"].strip(),
            as_of=record["as_of"].strip(),
        ))
    return tuple(rows)


_TRADEMARKS = re.compile(r"\((?:r|tm|c)\)|[®™©]")
_CLOCK = re.compile(r"@\s*[\d.]+\s*[gm]hz")
_CORE_COUNT = re.compile(r"(?<![\w-])\d+-cores?(?![\w-])")
_FILLER = re.compile(r"(?<![\w-])(?:cpu|processor)(?![\w-])")


def normalise_cpu_model(text: str) -> str:
    """Lower case, without (R)/(TM), "CPU", "Processor", "@ 2.50GHz" or "16-Core".

    "Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz" -> "intel xeon gold 6248";
    "AMD Ryzen 9 7950X 16-Core Processor" -> "amd ryzen 9 7950x".
    """
    text = _TRADEMARKS.sub(" ", text.lower())
    text = _CLOCK.sub(" ", text)
    text = _CORE_COUNT.sub(" ", text)
    text = _FILLER.sub(" ", text)
    return " ".join(text.replace(",", " ").split())


def _match(model: str, table: Sequence[CpuTdpRow]) -> CpuTdpRow | None:
    """The row whose model's tokens all occur, as whole tokens, in ``model``; the longest wins.

    Whole tokens keep "i9-13900K" from matching "i9-13900KS" and "7950X" from "7950X3D".
    If no row matches in full, a row whose model number alone ("i9-13900K", "6248") occurs
    is taken, provided only one row has that number.
    """
    tokens = set(normalise_cpu_model(model).split())
    best: tuple[int, CpuTdpRow] | None = None
    by_number: list[CpuTdpRow] = []
    for row in table:
        row_tokens = normalise_cpu_model(row.model).split()
        if not row_tokens:
            continue
        if set(row_tokens) <= tokens:
            score = sum(len(t) for t in row_tokens)
            if best is None or score > best[0]:
                best = (score, row)
        elif row_tokens[-1] in tokens:
            by_number.append(row)
    if best is not None:
        return best[1]
    return by_number[0] if len(by_number) == 1 else None


def default_w_per_thread(table: Sequence[CpuTdpRow]) -> float:
    """The median watts per hardware thread over the table (the figure for unknown CPUs)."""
    return statistics.median(row.tdp_w / row.threads for row in table)


def lookup_cpu_tdp(model: str | None, table: Sequence[CpuTdpRow] | None = None) -> CpuTdp:
    """The TDP figure for ``model`` (a /proc/cpuinfo "model name"), or the table's median."""
    rows = load_cpu_table() if table is None else table
    row = _match(model, rows) if model else None
    if row is not None:
        return CpuTdp(model=row.model, tdp_w=row.tdp_w, threads=row.threads,
                      w_per_thread=row.tdp_w / row.threads,
                      source=f"{row.tdp_w:g} W TDP / {row.threads} threads, {row.source} (as of {row.as_of})",
                      matched=True)
    shown = model.strip() if model and model.strip() else "unknown CPU"
    return CpuTdp(model=shown, tdp_w=None, threads=None, w_per_thread=default_w_per_thread(rows),
                  source=(f"CPU model {shown!r} is not in greenlove's TDP table: median W per "
                          f"hardware thread over the table's {len(rows)} CPUs"),
                  matched=False)


def read_cpu_model(cpuinfo: Path = CPUINFO,
                   processor: Callable[[], str] = platform.processor) -> str | None:
    """The CPU's marketing name: /proc/cpuinfo's "model name", else platform.processor(), else None."""
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as lines:
            for line in lines:
                key, sep, value = line.partition(":")
                if sep and key.strip().lower() == "model name" and value.strip():
                    return value.strip()
    except OSError:
        pass
    try:
        name = (processor() or "").strip()
    except Exception:  # platform.processor() may shell out; it must never break discovery
        return None
    if not name or name.lower() == "unknown" or name == platform.machine():
        return None  # "x86_64" names an architecture, not a CPU
    return name


class CpuTdpMeter:
    """CPU power as TDP per thread x logical CPUs x machine-wide utilisation (an estimate).

    ``cpu_percent`` returns the machine-wide utilisation in percent since its previous call
    (default: ``psutil.cpu_percent(interval=None)``); it is called once here, because its first
    result is meaningless. psutil keeps that "previous call" in process-wide state, so another
    caller of ``psutil.cpu_percent(interval=None)`` in the same process shortens our window.
    """

    kind = KIND_CPU
    method = "tdp-estimate"

    def __init__(self, tdp: CpuTdp, logical_cpus: int | None = None,
                 cpu_percent: Callable[[], float] | None = None) -> None:
        if logical_cpus is None or cpu_percent is None:
            import psutil

            if logical_cpus is None:
                logical_cpus = psutil.cpu_count(logical=True) or os.cpu_count() or 1
            if cpu_percent is None:
                def cpu_percent() -> float:
                    return psutil.cpu_percent(interval=None)
        if logical_cpus < 1:
            raise ValueError(f"logical_cpus must be >= 1, not {logical_cpus}")
        self.tdp, self.logical_cpus = tdp, logical_cpus
        self._cpu_percent = cpu_percent
        self._utilisation()  # prime: the first value covers no interval
        plural = "s" if logical_cpus > 1 else ""
        self.name = f"CPU: {tdp.model} ({logical_cpus} logical CPU{plural})"
        basis = (f"{tdp.model}: {tdp.source}" if tdp.matched else tdp.source)
        self.note = (
            f"Estimate, not a measurement: {tdp.w_per_thread:.2f} W per hardware thread x "
            f"{logical_cpus} logical CPU{plural} x machine-wide utilisation ({basis}); "
            f"method of {GREEN_ALGORITHMS_CITATION}."
        )

    def _utilisation(self) -> float:
        try:
            percent = float(self._cpu_percent())
        except Exception as exc:
            raise MeterError(f"{getattr(self, 'name', 'CPU')}: cannot read CPU utilisation: {exc}") from exc
        if percent != percent:  # NaN
            raise MeterError("CPU utilisation is NaN")
        return min(max(percent / 100.0, 0.0), 1.0)

    @property
    def full_load_w(self) -> float:
        """The estimate at 100% utilisation on every logical CPU."""
        return self.tdp.w_per_thread * self.logical_cpus

    def read(self) -> MeterReading:
        return MeterReading(power_w=self.full_load_w * self._utilisation())

    def assumptions(self) -> dict[str, dict[str, object]]:
        """The constants this estimate rests on, with their sources (for the report)."""
        return {
            "cpu_w_per_thread": {
                "value": self.tdp.w_per_thread, "unit": "W per hardware thread at full load",
                "source": (f"{self.tdp.model}: TDP {self.tdp.tdp_w} W / {self.tdp.threads} "
                           f"threads, {self.tdp.source}") if self.tdp.matched else self.tdp.source,
            },
            "cpu_power_model": {
                "value": "W per thread x logical CPUs x machine-wide utilisation", "unit": "W",
                "source": GREEN_ALGORITHMS_CITATION,
            },
        }

    def close(self) -> None:
        return None
