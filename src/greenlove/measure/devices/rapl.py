"""CPU package and DRAM energy from RAPL, read through the Linux powercap sysfs tree.

Layout (``/sys/class/powercap``, the root is injected so tests use a fake tree)::

    intel-rapl:0/                 name "package-0"   energy_uj  max_energy_range_uj
    intel-rapl:0/intel-rapl:0:0/  name "core" | "uncore" | "dram"
    intel-rapl:1/                 name "package-1" (a second socket) or "psys" (platform)

The same tree is used by AMD CPUs (the kernel registers AMD's RAPL MSRs under "intel-rapl").
Subzones also appear at the top level as ``intel-rapl:0:0`` links; they are only looked up
under their package so that they are not counted twice. "psys" (the whole platform) is
ignored: it contains the packages and DRAM, so adding it would double count.

``energy_uj`` is a counter in microjoules that wraps around: the kernel reports the largest
value it can hold as ``max_energy_range_uj`` (the 32-bit hardware counter's maximum, in uJ),
and after it the counter starts again from 0. A wrap between two reads is corrected by adding
``max_energy_range_uj``; the true period is one hardware energy unit larger (15.3 or 61 uJ on
most parts, not exposed in sysfs), so each corrected wrap undercounts by at most that unit.
Two or more wraps between reads cannot be detected: the sampler must read more often than
the wrap period (a few minutes at full load on a large server; usually far longer).

Since Linux 5.10 (and the stable kernels that received the fix for CVE-2020-8694, PLATYPUS),
``energy_uj`` is readable by root only. :func:`open_rapl_meters` raises :class:`RaplUnavailable`,
a :class:`MeterError` carrying ``reason`` and ``fix`` attributes, so the caller can build a
:class:`Fallback` with the command that grants access.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .base import KIND_CPU, KIND_RAM, Meter, MeterError, MeterReading

POWERCAP_ROOT = Path("/sys/class/powercap")

_PACKAGE_ZONE = re.compile(r"intel-rapl:(\d+)")        # top-level zones (fullmatch)
_SUBZONE = re.compile(r"intel-rapl:(\d+):(\d+)")        # children of a package (fullmatch)

NO_TREE_REASON = (
    "no /sys/class/powercap/intel-rapl zones (not Linux, a VM, or the intel_rapl module is not loaded)"
)


class RaplUnavailable(MeterError):
    """RAPL cannot be used here.

    ``reason``: why, in a few words (for :attr:`Fallback.reason`).
    ``fix``: what the user can do about it, or "" (for :attr:`Fallback.fix`).
    """

    def __init__(self, reason: str, fix: str = "") -> None:
        super().__init__(f"RAPL unavailable: {reason}" + (f". {fix}" if fix else ""))
        self.reason = reason
        self.fix = fix


def chmod_fix(root: Path = POWERCAP_ROOT) -> str:
    """The one command that lets a non-root user read the RAPL energy counters under ``root``."""
    return (
        f"To measure CPU energy, allow reading the RAPL counters (until the next reboot): "
        f"sudo chmod a+r {root}/intel-rapl:*/energy_uj {root}/intel-rapl:*/intel-rapl:*/energy_uj "
        f"(since Linux 5.10 energy_uj is readable by root only)"
    )


def _read_text(path: Path) -> str:
    return path.read_text()


@dataclass
class _Domain:
    """One RAPL counter: its file, its range and the running total of its increments."""

    label: str              # "package-0", "package-0/dram"
    energy_file: Path
    max_energy_range_uj: int
    last_raw_uj: int
    total_uj: int = 0


class RaplMeter:
    """The summed energy of one or more RAPL domains (all packages, or all DRAM domains).

    ``read()`` returns the energy in joules since the meter was opened, accumulated per domain
    with wrap-around corrected, so it never decreases.
    """

    method = "rapl"

    def __init__(self, name: str, kind: str, domains: Sequence[_Domain], note: str,
                 reader: Callable[[Path], str]) -> None:
        self.name, self.kind, self.note = name, kind, note
        self._domains = list(domains)
        self._reader = reader
        self._lock = threading.Lock()

    def read(self) -> MeterReading:
        with self._lock:
            for domain in self._domains:
                raw_uj = _read_uj(self._reader, domain.energy_file, domain.label)
                if raw_uj >= domain.last_raw_uj:
                    domain.total_uj += raw_uj - domain.last_raw_uj
                else:  # wrapped: up to the maximum, then from 0 to raw_uj
                    domain.total_uj += domain.max_energy_range_uj - domain.last_raw_uj + raw_uj
                domain.last_raw_uj = raw_uj
            return MeterReading(energy_j=sum(d.total_uj for d in self._domains) * 1e-6)

    def close(self) -> None:
        return None


def _read_uj(reader: Callable[[Path], str], path: Path, label: str) -> int:
    """One counter file as an integer; every failure becomes a :class:`MeterError`."""
    try:
        text = reader(path)
    except PermissionError as exc:
        raise MeterError(f"RAPL {label}: permission denied reading {path}: {exc}") from exc
    except OSError as exc:
        raise MeterError(f"RAPL {label}: cannot read {path}: {exc}") from exc
    try:
        value = int(text.strip())
    except ValueError as exc:
        raise MeterError(f"RAPL {label}: {path} holds {text.strip()!r}, not an integer") from exc
    if value < 0:
        raise MeterError(f"RAPL {label}: {path} holds a negative value {value}")
    return value


def _zone_name(reader: Callable[[Path], str], zone: Path) -> str | None:
    try:
        return reader(zone / "name").strip()
    except OSError:
        return None


def _sorted_zones(parent: Path, pattern: re.Pattern[str]) -> list[Path]:
    """The zones under ``parent`` whose names match ``pattern``, in numeric order."""
    try:
        numbered = [(m, p) for p in parent.iterdir() if (m := pattern.fullmatch(p.name))]
    except OSError as exc:
        raise RaplUnavailable(f"cannot list {parent}: {exc}") from exc
    numbered.sort(key=lambda item: tuple(int(n) for n in item[0].groups()))
    return [p for _, p in numbered]


def _open_domain(reader: Callable[[Path], str], zone: Path, label: str, root: Path) -> _Domain:
    energy_file = zone / "energy_uj"
    try:
        first = _read_uj(reader, energy_file, label)
    except MeterError as exc:
        if isinstance(exc.__cause__, PermissionError):
            raise RaplUnavailable(f"{energy_file} is not readable by this user", chmod_fix(root)) from exc
        raise RaplUnavailable(str(exc)) from exc
    try:
        max_range = _read_uj(reader, zone / "max_energy_range_uj", label)
    except MeterError as exc:
        raise RaplUnavailable(f"{exc} (needed to correct counter wrap-around)") from exc
    if max_range <= 0:
        raise RaplUnavailable(f"RAPL {label}: max_energy_range_uj is {max_range}")
    return _Domain(label=label, energy_file=energy_file, max_energy_range_uj=max_range, last_raw_uj=first)


def open_rapl_meters(root: Path = POWERCAP_ROOT,
                     reader: Callable[[Path], str] | None = None) -> list[Meter]:
    """Meters for the CPU packages (kind "cpu") and, where RAPL has them, DRAM (kind "ram").

    Returns one meter summing every package and, if any package has a "dram" subzone, one
    meter summing the DRAM domains. ``reader`` reads one sysfs file as text (injected so that
    tests can make it fail). Raises :class:`RaplUnavailable` (a :class:`MeterError` with
    ``reason`` and ``fix``) when there is no RAPL package zone or a counter cannot be read.
    """
    read = reader or _read_text
    root = Path(root)
    zones = _sorted_zones(root, _PACKAGE_ZONE) if root.is_dir() else []

    packages: list[_Domain] = []
    drams: list[_Domain] = []
    for zone in zones:
        name = _zone_name(read, zone)
        if name is None or not name.startswith("package"):
            continue  # "psys" contains the packages and DRAM: adding it would double count
        packages.append(_open_domain(read, zone, name, root))
        for sub in _sorted_zones(zone, _SUBZONE):
            if _zone_name(read, sub) == "dram":
                drams.append(_open_domain(read, sub, f"{name}/dram", root))
    if not packages:
        raise RaplUnavailable(NO_TREE_REASON)

    plural = "s" if len(packages) > 1 else ""
    meters: list[Meter] = [RaplMeter(
        name=f"CPU (RAPL, {len(packages)} package{plural})", kind=KIND_CPU, domains=packages,
        note="RAPL package counters: the whole socket (all processes), as modelled by the CPU itself.",
        reader=read,
    )]
    if drams:
        plural = "s" if len(drams) > 1 else ""
        meters.append(RaplMeter(
            name=f"RAM (RAPL DRAM, {len(drams)} domain{plural})", kind=KIND_RAM, domains=drams,
            note="RAPL DRAM counters: all memory attached to the socket(s), all processes.",
            reader=read,
        ))
    return meters
