"""RAPL through a fake powercap tree: summing, wrap-around, DRAM, psys, and every failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from greenlove.measure.devices.base import KIND_CPU, KIND_RAM, Fallback, Meter, MeterError
from greenlove.measure.devices.rapl import NO_TREE_REASON, RaplUnavailable, open_rapl_meters
from tests.fakes.powercap import FakePowercap


@pytest.fixture
def tree(tmp_path: Path) -> FakePowercap:
    return FakePowercap(tmp_path / "powercap")


def _by_kind(meters: list[Meter]) -> dict[str, Meter]:
    kinds = {m.kind: m for m in meters}
    assert len(kinds) == len(meters)
    return kinds


def test_two_packages_are_summed(tree: FakePowercap) -> None:
    tree.add_package(0, 1_000_000)
    tree.add_package(1, 5_000_000)
    meters = open_rapl_meters(tree.root)
    assert [m.kind for m in meters] == [KIND_CPU]
    cpu = meters[0]
    assert isinstance(cpu, Meter)
    assert cpu.method == "rapl"
    assert cpu.name == "CPU (RAPL, 2 packages)"
    assert cpu.read().energy_j == 0.0  # energy since the meter was opened

    tree.set_energy("package-0", 3_000_000)   # +2 J
    tree.set_energy("package-1", 5_500_000)   # +0.5 J
    assert cpu.read().energy_j == pytest.approx(2.5)
    tree.set_energy("package-1", 6_500_000)   # +1 J
    assert cpu.read().energy_j == pytest.approx(3.5)


def test_single_package_name(tree: FakePowercap) -> None:
    tree.add_package(0)
    assert open_rapl_meters(tree.root)[0].name == "CPU (RAPL, 1 package)"


def test_counter_wrap_around_is_added_not_lost(tree: FakePowercap) -> None:
    max_uj = 1_000_000_000
    tree.add_package(0, max_uj - 3_000_000, max_uj=max_uj)
    cpu = open_rapl_meters(tree.root)[0]
    tree.set_energy("package-0", max_uj - 1_000_000)     # +1 J before the wrap
    assert cpu.read().energy_j == pytest.approx(2.0)
    tree.set_energy("package-0", 4_000_000)               # 1 J up to the max, then 4 J from 0
    assert cpu.read().energy_j == pytest.approx(2.0 + 1.0 + 4.0)
    tree.set_energy("package-0", 5_000_000)
    assert cpu.read().energy_j == pytest.approx(8.0)


def test_wrap_uses_each_domains_own_range(tree: FakePowercap) -> None:
    tree.add_package(0, 900, max_uj=1000, dram_uj=90, dram_max_uj=100)
    meters = _by_kind(open_rapl_meters(tree.root))
    tree.set_energy("package-0", 100)       # 100 + (1000 - 900) = 200 uJ
    tree.set_energy("package-0/dram", 10)   # 10 + (100 - 90) = 20 uJ
    assert meters[KIND_CPU].read().energy_j == pytest.approx(200e-6)
    assert meters[KIND_RAM].read().energy_j == pytest.approx(20e-6)


def test_energy_never_decreases_across_many_reads(tree: FakePowercap) -> None:
    max_uj = 10_000
    tree.add_package(0, 0, max_uj=max_uj)
    cpu = open_rapl_meters(tree.root)[0]
    raw, previous = 0, 0.0
    for step in range(50):
        raw = (raw + 3_333 + step) % max_uj
        tree.set_energy("package-0", raw)
        energy = cpu.read().energy_j
        assert energy >= previous
        previous = energy
    assert previous == pytest.approx(sum(3_333 + s for s in range(50)) * 1e-6, abs=50e-6)


def test_dram_domains_make_a_ram_meter(tree: FakePowercap) -> None:
    tree.add_package(0, 0, dram_uj=0)
    tree.add_package(1, 0, dram_uj=0)
    meters = _by_kind(open_rapl_meters(tree.root))
    ram = meters[KIND_RAM]
    assert ram.method == "rapl"
    assert ram.name == "RAM (RAPL DRAM, 2 domains)"
    tree.set_energy("package-0/dram", 1_000_000)
    tree.set_energy("package-1/dram", 2_000_000)
    assert ram.read().energy_j == pytest.approx(3.0)
    assert meters[KIND_CPU].read().energy_j == 0.0  # DRAM is not added to the packages


def test_no_dram_domain_means_no_ram_meter(tree: FakePowercap) -> None:
    tree.add_package(0, 0)  # a "core" subzone only, as on most laptops
    meters = open_rapl_meters(tree.root)
    assert [m.kind for m in meters] == [KIND_CPU]


def test_psys_is_ignored(tree: FakePowercap) -> None:
    tree.add_package(0, 0)
    tree.add_psys(1, 0)
    cpu = open_rapl_meters(tree.root)[0]
    assert cpu.name == "CPU (RAPL, 1 package)"
    tree.set_energy("package-0", 1_000_000)
    tree.set_energy("psys", 50_000_000)
    assert cpu.read().energy_j == pytest.approx(1.0)


def test_subzones_linked_at_top_level_are_not_counted_twice(tree: FakePowercap) -> None:
    tree.add_package(0, 0, dram_uj=0)
    assert (tree.root / "intel-rapl:0:1").is_symlink()
    meters = _by_kind(open_rapl_meters(tree.root))
    tree.set_energy("package-0/dram", 1_000_000)
    assert meters[KIND_RAM].read().energy_j == pytest.approx(1.0)
    assert meters[KIND_RAM].name == "RAM (RAPL DRAM, 1 domain)"


@pytest.mark.parametrize("make", ["missing", "empty", "psys_only"])
def test_missing_tree_raises(tmp_path: Path, make: str) -> None:
    root = tmp_path / "powercap"
    if make == "empty":
        root.mkdir()
    elif make == "psys_only":
        FakePowercap(root).add_psys(0)
    with pytest.raises(MeterError) as info:
        open_rapl_meters(root)
    assert isinstance(info.value, RaplUnavailable)
    assert info.value.reason == NO_TREE_REASON
    assert info.value.fix == ""


def test_unreadable_energy_counter_names_the_chmod_fix(tree: FakePowercap) -> None:
    tree.add_package(0, 0)

    def root_only(path: Path) -> str:
        if path.name == "energy_uj":
            raise PermissionError(13, "Permission denied", str(path))
        return path.read_text()

    with pytest.raises(MeterError) as info:
        open_rapl_meters(tree.root, reader=root_only)
    err = info.value
    assert isinstance(err, RaplUnavailable)
    command = (f"sudo chmod a+r {tree.root}/intel-rapl:*/energy_uj "
               f"{tree.root}/intel-rapl:*/intel-rapl:*/energy_uj")
    assert command in err.fix
    assert command in str(err)
    assert "reboot" in err.fix and "5.10" in err.fix
    assert "not readable" in err.reason
    # The caller turns it into a labelled fallback, fix included.
    fallback = Fallback(kind=KIND_CPU, wanted="rapl", reason=err.reason, instead="tdp-estimate",
                        fix=err.fix)
    assert command in fallback.message()


def test_default_root_appears_in_the_fix_command() -> None:
    from greenlove.measure.devices.rapl import chmod_fix

    assert ("sudo chmod a+r /sys/class/powercap/intel-rapl:*/energy_uj "
            "/sys/class/powercap/intel-rapl:*/intel-rapl:*/energy_uj") in chmod_fix()


def test_read_error_mid_run_raises(tree: FakePowercap) -> None:
    tree.add_package(0, 0)
    broken = {"now": False}

    def flaky(path: Path) -> str:
        if broken["now"] and path.name == "energy_uj":
            raise OSError(5, "Input/output error", str(path))
        return path.read_text()

    cpu = open_rapl_meters(tree.root, reader=flaky)[0]
    tree.set_energy("package-0", 1_000_000)
    assert cpu.read().energy_j == pytest.approx(1.0)
    broken["now"] = True
    with pytest.raises(MeterError, match="package-0"):
        cpu.read()


def test_counter_file_removed_mid_run_raises(tree: FakePowercap) -> None:
    tree.add_package(0, 0)
    cpu = open_rapl_meters(tree.root)[0]
    (tree.zones["package-0"] / "energy_uj").unlink()
    with pytest.raises(MeterError):
        cpu.read()


def test_garbage_in_counter_raises(tree: FakePowercap) -> None:
    tree.add_package(0, 0)
    cpu = open_rapl_meters(tree.root)[0]
    (tree.zones["package-0"] / "energy_uj").write_text("n/a\n")
    with pytest.raises(MeterError, match="not an integer"):
        cpu.read()


def test_missing_max_range_raises_at_open(tree: FakePowercap) -> None:
    tree.add_package(0, 0)
    (tree.zones["package-0"] / "max_energy_range_uj").unlink()
    with pytest.raises(RaplUnavailable, match="wrap-around"):
        open_rapl_meters(tree.root)


def test_close_is_idempotent(tree: FakePowercap) -> None:
    tree.add_package(0, 0)
    cpu = open_rapl_meters(tree.root)[0]
    cpu.close()
    cpu.close()
