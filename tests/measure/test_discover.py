"""discover_meters: which meters a machine gets, and which fallbacks the report must show.

Every backend is injected: a fake NVML, a fake powercap tree (or none), a fake /proc/cpuinfo,
an injected utilisation, a fake amdsmi and a fixed GPU runtime, so no test reads real sysfs,
starts real NVML or imports torch's CUDA probe.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from greenlove.measure.devices.base import KIND_CPU, KIND_GPU, KIND_RAM, Meter, NullMeter
from greenlove.measure.devices.cpu_estimate import CpuTdpMeter
from greenlove.measure.devices.discover import Discovery, discover_meters
from greenlove.measure.devices.nvml import METHOD_ENERGY
from greenlove.measure.devices.ram_estimate import RamEstimateMeter
from greenlove.measure.devices.rapl import NO_TREE_REASON, RaplMeter
from tests.fakes import nvml as fake_nvml
from tests.fakes.amdsmi import FakeAmdSmi
from tests.fakes.nvml import FakeNvml, gpu
from tests.fakes.powercap import FakePowercap

UNKNOWN_CPU = "Intel(R) Xeon(R) Processor"   # a VM's anonymised CPU: not in the TDP table


def _cpuinfo(tmp_path: Path, model: str = UNKNOWN_CPU) -> Path:
    path = tmp_path / "cpuinfo"
    path.write_text(f"processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: {model}\n\n"
                    f"processor\t: 1\nmodel name\t: {model}\n")
    return path


def discover(tmp_path: Path, **overrides: Any) -> Discovery:
    """discover_meters with every probe faked; ``overrides`` replace the defaults (a machine
    with no NVIDIA GPU, no powercap tree, an unknown CPU at 25% and no CUDA or ROCm)."""
    settings: dict[str, Any] = {
        "nvml": FakeNvml(),
        "env": {},
        "powercap_root": tmp_path / "no-powercap",
        "cpu_percent": lambda: 25.0,
        "gpu_runtime": (False, False),
    }
    settings.update(overrides)
    if "cpuinfo" not in settings:
        settings["cpuinfo"] = _cpuinfo(tmp_path)
    return discover_meters(**settings)


def _kinds(meters: tuple[Meter, ...]) -> list[str]:
    return [m.kind for m in meters]


def _close(found: Discovery) -> None:
    for meter in found.meters:
        meter.close()


def _powercap(tmp_path: Path, *, dram: bool) -> FakePowercap:
    tree = FakePowercap(tmp_path / "powercap")
    tree.add_package(0, energy_uj=1_000_000, dram_uj=50_000 if dram else None)
    return tree


# ---------------------------------------------------------------- (a) the full set, no fallbacks


def test_two_gpus_and_rapl_with_dram_need_no_fallback(tmp_path: Path) -> None:
    nvml = FakeNvml(gpu(0), gpu(1))
    tree = _powercap(tmp_path, dram=True)
    found = discover(tmp_path, nvml=nvml, powercap_root=tree.root, gpu_runtime=(True, False))
    assert _kinds(found.meters) == [KIND_GPU, KIND_GPU, KIND_CPU, KIND_RAM]
    gpus, (cpu, ram) = found.meters[:2], found.meters[2:]
    assert [g.name for g in gpus] == ["GPU 0: NVIDIA H100 80GB HBM3", "GPU 1: NVIDIA H100 80GB HBM3"]
    assert all(g.method == METHOD_ENERGY for g in gpus)
    assert isinstance(cpu, RaplMeter) and isinstance(ram, RaplMeter)
    assert (cpu.method, ram.method) == ("rapl", "rapl")
    assert not any(isinstance(m, NullMeter) for m in found.meters)
    assert found.fallbacks == ()
    _close(found)
    assert nvml.shutdown_calls == nvml.init_calls == 1


# ---------------------------------------------------------------- (b) no RAPL at all


def test_no_powercap_tree_gives_both_estimates_with_fallback_lines(tmp_path: Path) -> None:
    found = discover(tmp_path)
    assert _kinds(found.meters) == [KIND_CPU, KIND_RAM]
    cpu, ram = found.meters
    assert isinstance(cpu, CpuTdpMeter) and cpu.method == "tdp-estimate"
    assert isinstance(ram, RamEstimateMeter) and ram.method == "ram-estimate"
    [line] = found.fallbacks                 # one cause, one line
    assert line.startswith("CPU and RAM energy: RAPL unavailable")
    assert NO_TREE_REASON in line
    assert "using estimates (tdp-estimate for the CPU, ram-estimate for the RAM)" in line
    assert "sudo chmod" not in line          # nothing to chmod without a tree


def test_the_cpu_estimate_uses_the_injected_utilisation(tmp_path: Path) -> None:
    found = discover(tmp_path, cpu_percent=lambda: 50.0)
    cpu = found.meters[0]
    assert isinstance(cpu, CpuTdpMeter)
    assert cpu.read().power_w == pytest.approx(cpu.full_load_w * 0.5)


# ---------------------------------------------------------------- (c) RAPL present but root-only


def test_unreadable_energy_uj_names_the_chmod_command_once(tmp_path: Path) -> None:
    tree = _powercap(tmp_path, dram=True)

    def root_only(path: Path) -> str:
        if path.name == "energy_uj":
            raise PermissionError(13, "Permission denied", str(path))
        return path.read_text()

    found = discover(tmp_path, powercap_root=tree.root, reader=root_only)
    assert [m.method for m in found.meters] == ["tdp-estimate", "ram-estimate"]
    [line] = found.fallbacks
    assert line.count("sudo chmod") == 1
    assert "sudo chmod a+r" in line and f"{tree.root}/intel-rapl:*/energy_uj" in line
    assert "is not readable by this user" in line
    assert "using estimates (tdp-estimate for the CPU, ram-estimate for the RAM)" in line


# ---------------------------------------------------------------- (d) RAPL without DRAM


def test_rapl_without_dram_measures_cpu_and_estimates_ram(tmp_path: Path) -> None:
    tree = _powercap(tmp_path, dram=False)
    found = discover(tmp_path, powercap_root=tree.root)
    assert [(m.kind, m.method) for m in found.meters] == [(KIND_CPU, "rapl"), (KIND_RAM, "ram-estimate")]
    assert isinstance(found.meters[0], RaplMeter)
    [line] = found.fallbacks
    assert line.startswith("RAM energy: RAPL DRAM unavailable")
    assert "no DRAM domain" in line and "using an estimate (ram-estimate)" in line


# ---------------------------------------------------------------- (e) NVML cannot start


def test_nvml_init_failure_on_a_cuda_machine_is_a_null_gpu_and_a_fallback(tmp_path: Path) -> None:
    nvml = FakeNvml(gpu(0), init_error=fake_nvml.NVML_ERROR_DRIVER_NOT_LOADED)
    found = discover(tmp_path, nvml=nvml, gpu_runtime=(True, False))
    [null] = [m for m in found.meters if m.kind == KIND_GPU]
    assert isinstance(null, NullMeter)
    assert null.name == "GPU (NVIDIA)" and null.method == "not-measured"
    assert "driver is not loaded" in null.note
    [gpu_line] = [line for line in found.fallbacks if line.startswith("GPU energy:")]
    assert "GPU (NVIDIA)" in gpu_line
    assert "driver is not loaded" in gpu_line and "modprobe nvidia" in gpu_line
    assert "missing from the totals" in gpu_line


def test_nvml_init_failure_on_a_cpu_only_machine_is_no_news(tmp_path: Path) -> None:
    nvml = FakeNvml(init_error=fake_nvml.NVML_ERROR_DRIVER_NOT_LOADED)
    found = discover(tmp_path, nvml=nvml, gpu_runtime=(False, False))
    assert KIND_GPU not in _kinds(found.meters)
    assert not any(line.startswith("GPU") for line in found.fallbacks)
    assert len(found.fallbacks) == 1   # only the CPU and RAM estimates (one line)


def test_gpus_hidden_by_cuda_visible_devices_give_no_meter_and_no_fallback(tmp_path: Path) -> None:
    nvml = FakeNvml(gpu(0), init_error=fake_nvml.NVML_ERROR_DRIVER_NOT_LOADED)
    found = discover(tmp_path, nvml=nvml, env={"CUDA_VISIBLE_DEVICES": ""}, gpu_runtime=(True, False))
    assert KIND_GPU not in _kinds(found.meters)
    assert not any(line.startswith("GPU") for line in found.fallbacks)
    assert nvml.init_calls == 0   # NVML was not even started


# ---------------------------------------------------------------- (f) a GPU NVML may not read


def test_gpu_without_permission_is_a_null_meter_with_a_fallback(tmp_path: Path) -> None:
    nvml = FakeNvml(gpu(0, no_permission=True), gpu(1))
    found = discover(tmp_path, nvml=nvml, gpu_runtime=(True, False))
    locked, readable = found.meters[:2]
    assert isinstance(locked, NullMeter) and locked.kind == KIND_GPU
    assert locked.name == "GPU 0: NVIDIA H100 80GB HBM3"
    assert "no permission" in locked.note
    assert not isinstance(readable, NullMeter) and readable.method == METHOD_ENERGY
    [gpu_line] = [line for line in found.fallbacks if line.startswith("GPU energy:")]
    assert "GPU 0: NVIDIA H100 80GB HBM3" in gpu_line and "no permission" in gpu_line
    _close(found)
    assert nvml.shutdown_calls == 1


# ---------------------------------------------------------------- (g) a CPU in the TDP table


def test_known_cpu_model_is_named_in_the_estimate(tmp_path: Path) -> None:
    cpuinfo = _cpuinfo(tmp_path, "Intel(R) Core(TM) i9-13900K CPU @ 3.00GHz")
    found = discover(tmp_path, cpuinfo=cpuinfo)
    cpu = found.meters[0]
    assert isinstance(cpu, CpuTdpMeter)
    assert cpu.tdp.matched and cpu.tdp.model == "Core i9-13900K"
    assert cpu.name.startswith("CPU: Core i9-13900K (")
    assert "Core i9-13900K" in cpu.note and "125 W TDP / 32 threads" in cpu.note
    source = str(cpu.assumptions()["cpu_w_per_thread"]["source"])
    assert "Core i9-13900K" in source and "125" in source
    assert cpu.assumptions()["cpu_w_per_thread"]["value"] == pytest.approx(125 / 32)


def test_unknown_cpu_model_says_the_median_is_used(tmp_path: Path) -> None:
    cpu = discover(tmp_path).meters[0]
    assert isinstance(cpu, CpuTdpMeter)
    assert not cpu.tdp.matched and cpu.tdp.model == UNKNOWN_CPU
    assert "median" in cpu.note and UNKNOWN_CPU in cpu.note


# ---------------------------------------------------------------- (h) AMD GPUs


def test_amdsmi_fake_gives_amd_meters(tmp_path: Path) -> None:
    amd = FakeAmdSmi(
        {"energy": {"energy_accumulator": 100, "counter_resolution": 15.3},
         "asic": {"market_name": "AMD Instinct MI300X"}},
        {"energy": None, "power": {"current_socket_power": 300, "average_socket_power": 280},
         "asic": {"market_name": "AMD Instinct MI210"}},
    )
    found = discover(tmp_path, amdsmi=amd, gpu_runtime=(False, True))
    gpus = [m for m in found.meters if m.kind == KIND_GPU]
    assert [(m.name, m.method) for m in gpus] == [
        ("GPU 0: AMD Instinct MI300X", "amdsmi-energy-counter"),
        ("GPU 1: AMD Instinct MI210", "amdsmi-power"),
    ]
    assert not any(line.startswith("GPU") for line in found.fallbacks)
    _close(found)
    assert amd.shutdowns == 1


def test_amdsmi_that_cannot_start_is_a_null_gpu_and_a_fallback(tmp_path: Path) -> None:
    found = discover(tmp_path, amdsmi=FakeAmdSmi(init_error=True), gpu_runtime=(False, True))
    [null] = [m for m in found.meters if m.kind == KIND_GPU]
    assert isinstance(null, NullMeter) and null.name == "GPU (AMD)"
    [gpu_line] = [line for line in found.fallbacks if line.startswith("GPU energy:")]
    assert "GPU (AMD)" in gpu_line and "DRIVER_NOT_LOADED" in gpu_line


def test_nvidia_and_amd_together(tmp_path: Path) -> None:
    amd = FakeAmdSmi({"energy": {"energy_accumulator": 0, "counter_resolution": 1.0}})
    tree = _powercap(tmp_path, dram=True)
    found = discover(tmp_path, nvml=FakeNvml(gpu(0)), amdsmi=amd, powercap_root=tree.root,
                     gpu_runtime=(True, False))
    assert [m.method for m in found.meters] == [METHOD_ENERGY, "amdsmi-energy-counter", "rapl", "rapl"]
    assert found.fallbacks == ()


# ---------------------------------------------------------------- every meter is usable


def test_every_discovered_meter_reads_or_says_why_not(tmp_path: Path) -> None:
    tree = _powercap(tmp_path, dram=False)
    nvml = FakeNvml(gpu(0), gpu(1, no_permission=True))
    found = discover(tmp_path, nvml=nvml, powercap_root=tree.root, gpu_runtime=(True, False))
    assert isinstance(found.fallbacks, tuple) and all(isinstance(f, str) for f in found.fallbacks)
    for meter in found.meters:
        assert isinstance(meter, Meter)
        if isinstance(meter, NullMeter):
            assert meter.note
            continue
        reading = meter.read()
        assert (reading.energy_j is None) != (reading.power_w is None)
    _close(found)
