"""A fake /sys/class/powercap tree under a temporary folder, laid out as the kernel does it."""

from __future__ import annotations

from pathlib import Path

# The kernel's max_energy_range_uj for a 32-bit counter with a 61 uJ unit (a common value).
DEFAULT_MAX_UJ = 262143328850


class FakePowercap:
    """Build zones with ``add_package``/``add_psys``; move counters with ``set_energy``.

    Subzones live inside their package folder and, as on a real system, are also linked at
    the top level (``intel-rapl:0:0``), so a reader that walks the top level naively would
    count them twice.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        (root / "intel-rapl").mkdir(exist_ok=True)  # the control type folder, not a zone
        self.zones: dict[str, Path] = {}

    def _zone(self, path: Path, name: str, energy_uj: int, max_uj: int) -> Path:
        path.mkdir(parents=True)
        (path / "name").write_text(name + "\n")
        (path / "energy_uj").write_text(f"{energy_uj}\n")
        (path / "max_energy_range_uj").write_text(f"{max_uj}\n")
        (path / "enabled").write_text("1\n")
        return path

    def add_package(self, index: int, energy_uj: int = 0, *, max_uj: int = DEFAULT_MAX_UJ,
                    dram_uj: int | None = None, dram_max_uj: int | None = None,
                    core_uj: int | None = 0) -> Path:
        """A package zone ``intel-rapl:<index>`` named ``package-<index>``, with a "core" subzone
        and, if ``dram_uj`` is given, a "dram" subzone."""
        pkg = self._zone(self.root / f"intel-rapl:{index}", f"package-{index}", energy_uj, max_uj)
        self.zones[f"package-{index}"] = pkg
        subzones = []
        if core_uj is not None:
            subzones.append(("core", core_uj, max_uj))
        if dram_uj is not None:
            subzones.append(("dram", dram_uj, dram_max_uj or max_uj))
        for sub_index, (name, value, sub_max) in enumerate(subzones):
            sub = self._zone(pkg / f"intel-rapl:{index}:{sub_index}", name, value, sub_max)
            (self.root / sub.name).symlink_to(sub, target_is_directory=True)
            self.zones[f"package-{index}/{name}"] = sub
        return pkg

    def add_psys(self, index: int, energy_uj: int = 0, *, max_uj: int = DEFAULT_MAX_UJ) -> Path:
        """The platform zone ("psys"), which contains the packages: it must be ignored."""
        zone = self._zone(self.root / f"intel-rapl:{index}", "psys", energy_uj, max_uj)
        self.zones["psys"] = zone
        return zone

    def set_energy(self, label: str, energy_uj: int) -> None:
        """Move the counter of zone ``label`` ("package-0", "package-0/dram", "psys")."""
        (self.zones[label] / "energy_uj").write_text(f"{energy_uj}\n")
