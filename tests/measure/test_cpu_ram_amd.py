"""The estimates (CPU TDP x utilisation, RAM per GB) and AMD GPUs through a fake amdsmi."""

from __future__ import annotations

import csv
import io
import platform
import statistics
import sys
from importlib import resources
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from greenlove.measure.devices.amd import NOT_INSTALLED, open_amd_meters
from greenlove.measure.devices.base import KIND_CPU, KIND_GPU, KIND_RAM, Meter, MeterError, NullMeter
from greenlove.measure.devices.cpu_estimate import (
    CpuTdp,
    CpuTdpMeter,
    load_cpu_table,
    lookup_cpu_tdp,
    normalise_cpu_model,
    read_cpu_model,
)
from greenlove.measure.devices.ram_estimate import RAM_W_PER_GB, RAM_W_PER_GB_SOURCE, RamEstimateMeter
from tests.fakes.amdsmi import FakeAmdSmi, FakeAmdSmiException

# ---------------------------------------------------------------- CPU model names and the table


@pytest.mark.parametrize(("raw", "normal"), [
    ("Intel(R) Core(TM) i9-13900K CPU @ 3.00GHz", "intel core i9-13900k"),
    ("AMD Ryzen 9 7950X 16-Core Processor", "amd ryzen 9 7950x"),
    ("Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz", "intel xeon gold 6248"),
    ("AMD Ryzen Threadripper PRO 5995WX 64-Cores", "amd ryzen threadripper pro 5995wx"),
    ("12th Gen Intel(R) Core(TM) i7-1260P", "12th gen intel core i7-1260p"),
    ("Intel® Xeon® Platinum 8480+", "intel xeon platinum 8480+"),
])
def test_normalise_cpu_model(raw: str, normal: str) -> None:
    assert normalise_cpu_model(raw) == normal


@pytest.mark.parametrize(("raw", "model"), [
    ("Intel(R) Core(TM) i9-13900K CPU @ 3.00GHz", "Core i9-13900K"),
    ("13th Gen Intel(R) Core(TM) i9-13900K", "Core i9-13900K"),
    ("13th Gen Intel(R) Core(TM) i9-13900KS", "Core i9-13900KS"),
    ("AMD Ryzen 9 7950X 16-Core Processor", "Ryzen 9 7950X"),
    ("AMD Ryzen 9 7950X3D 16-Core Processor", "Ryzen 9 7950X3D"),
    ("Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz", "Xeon Gold 6248"),
    ("Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz", "Xeon Gold 6148"),
    ("Intel(R) Xeon(R) Platinum 8380 CPU @ 2.30GHz", "Xeon Platinum 8380"),
    ("Intel(R) Xeon(R) Platinum 8480+", "Xeon Platinum 8480+"),
    ("12th Gen Intel(R) Core(TM) i7-1260P", "Core i7-1260P"),
    ("12th Gen Intel(R) Core(TM) i7-1255U", "Core i7-1255U"),
    ("12th Gen Intel(R) Core(TM) i7-12700H", "Core i7-12700H"),
    ("13th Gen Intel(R) Core(TM) i7-1365U", "Core i7-1365U"),
    ("AMD Ryzen 7 5800H with Radeon Graphics", "Ryzen 7 5800H"),
    ("AMD EPYC 7742 64-Core Processor", "EPYC 7742"),
    ("AMD Ryzen Threadripper PRO 5995WX 64-Cores", "Ryzen Threadripper PRO 5995WX"),
    ("AMD Ryzen Threadripper 3990X 64-Core Processor", "Ryzen Threadripper 3990X"),
    ("i9-13900K", "Core i9-13900K"),  # the model number alone, when it is unambiguous
])
def test_lookup_matches_real_model_strings(raw: str, model: str) -> None:
    tdp = lookup_cpu_tdp(raw)
    assert tdp.matched, raw
    assert tdp.model == model
    assert tdp.w_per_thread == pytest.approx(tdp.tdp_w / tdp.threads)
    assert "https://" in tdp.source


def test_lookup_values_for_known_parts() -> None:
    gold = lookup_cpu_tdp("Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz")
    assert (gold.tdp_w, gold.threads, gold.w_per_thread) == (150.0, 40, 3.75)
    ks = lookup_cpu_tdp("13th Gen Intel(R) Core(TM) i9-13900KS")
    assert ks.tdp_w == 150.0
    assert lookup_cpu_tdp("13th Gen Intel(R) Core(TM) i9-13900K").tdp_w == 125.0


def _csv_rows() -> list[dict[str, str]]:
    text = (resources.files("greenlove") / "data" / "cpu_tdp.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize("raw", [
    "Intel(R) Xeon(R) Processor",                          # a VM's anonymised CPU
    "Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz",     # a cloud-only part
    "AMD EPYC 7R13 Processor",
    "Apple M2",
    "",
    None,
])
def test_unknown_cpu_gets_the_table_median(raw: str | None) -> None:
    rows = _csv_rows()
    median = statistics.median(float(r["tdp_w"]) / int(r["threads"]) for r in rows)
    tdp = lookup_cpu_tdp(raw)
    assert not tdp.matched
    assert tdp.tdp_w is None and tdp.threads is None
    assert tdp.w_per_thread == pytest.approx(median)
    assert "median W per hardware thread" in tdp.source
    assert f"{len(rows)} CPUs" in tdp.source
    assert tdp.model == (raw or "unknown CPU")


def test_longest_match_wins_and_ambiguous_numbers_do_not_match() -> None:
    table = load_cpu_table(
        "model,tdp_w,cores,threads,source,as_of\n"
        "Xeon 6248,100,10,20,https://example.invalid/a,2026-11\n"
        "Xeon Gold 6248,150,20,40,https://example.invalid/b,2026-11\n"
        "Alpha 9000,10,1,2,https://example.invalid/c,2026-11\n"
        "Beta 9000,20,1,2,https://example.invalid/d,2026-11\n"
    )
    assert lookup_cpu_tdp("Intel(R) Xeon(R) Gold 6248 CPU", table).tdp_w == 150.0
    assert lookup_cpu_tdp("Intel(R) Xeon(R) 6248", table).tdp_w == 100.0
    assert not lookup_cpu_tdp("Gamma 9000", table).matched  # "9000" names two rows


def test_cpu_table_sanity() -> None:
    text = (resources.files("greenlove") / "data" / "cpu_tdp.csv").read_text(encoding="utf-8")
    assert text.splitlines()[0] == "model,tdp_w,cores,threads,source,as_of"
    rows = _csv_rows()
    assert len(rows) >= 25
    models = [r["model"] for r in rows]
    assert len(set(models)) == len(models)
    for r in rows:
        assert r["source"].startswith(("https://ark.intel.com/", "https://www.amd.com/en/products/")), r
        assert r["as_of"] == "2026-11", r
        tdp_w, cores, threads = float(r["tdp_w"]), int(r["cores"]), int(r["threads"])
        assert tdp_w > 0 and cores > 0 and threads >= cores, r
        assert lookup_cpu_tdp(r["model"]).model == r["model"]  # every row is reachable
    loaded = load_cpu_table()
    assert [row.model for row in loaded] == models


# ---------------------------------------------------------------- reading the model name


def test_read_cpu_model_from_cpuinfo(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nvendor_id\t: GenuineIntel\n"
                       "model name\t: Intel(R) Xeon(R) Processor\nflags\t\t: fpu vme\n\n"
                       "processor\t: 1\nmodel name\t: Intel(R) Xeon(R) Processor\n")
    assert read_cpu_model(cpuinfo, processor=lambda: "never used") == "Intel(R) Xeon(R) Processor"


def test_read_cpu_model_falls_back_to_platform(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    assert read_cpu_model(missing, processor=lambda: "Apple M2") == "Apple M2"
    no_model = tmp_path / "cpuinfo"
    no_model.write_text("processor\t: 0\nCPU part\t: 0xd0c\n")  # ARM: no "model name"
    assert read_cpu_model(no_model, processor=lambda: "Apple M2") == "Apple M2"
    assert read_cpu_model(missing, processor=lambda: "") is None
    assert read_cpu_model(missing, processor=lambda: platform.machine()) is None

    def broken() -> str:
        raise OSError("uname failed")

    assert read_cpu_model(missing, processor=broken) is None


# ---------------------------------------------------------------- the CPU estimate meter


class Percents:
    """An injected cpu_percent: returns the given values in order, counting calls."""

    def __init__(self, *values: float) -> None:
        self.values, self.calls = list(values), 0

    def __call__(self) -> float:
        self.calls += 1
        return self.values.pop(0)


def test_cpu_tdp_meter_power_is_w_per_thread_x_cpus_x_utilisation() -> None:
    tdp = lookup_cpu_tdp("Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz")  # 3.75 W per thread
    percents = Percents(0.0, 50.0, 100.0, 0.0, 130.0)
    meter = CpuTdpMeter(tdp, logical_cpus=8, cpu_percent=percents)
    assert percents.calls == 1  # primed: psutil's first value covers no interval
    assert isinstance(meter, Meter)
    assert (meter.kind, meter.method) == (KIND_CPU, "tdp-estimate")
    assert meter.name == "CPU: Xeon Gold 6248 (8 logical CPUs)"
    assert meter.read().power_w == pytest.approx(3.75 * 8 * 0.5)
    assert meter.read().power_w == pytest.approx(30.0)
    assert meter.read().power_w == 0.0
    assert meter.read().power_w == pytest.approx(30.0)  # clamped to 100%
    assert "Lannelongue" in meter.note and "2100707" in meter.note
    assert "Estimate" in meter.note


def test_cpu_tdp_meter_unknown_cpu_name_and_default() -> None:
    tdp = lookup_cpu_tdp("Intel(R) Xeon(R) Processor")
    meter = CpuTdpMeter(tdp, logical_cpus=2, cpu_percent=Percents(0.0, 100.0))
    assert meter.name == "CPU: Intel(R) Xeon(R) Processor (2 logical CPUs)"
    assert meter.read().power_w == pytest.approx(2 * tdp.w_per_thread)
    assert "median" in meter.note


def test_cpu_tdp_meter_read_failure_is_a_meter_error() -> None:
    calls = {"n": 0}

    def flaky() -> float:
        calls["n"] += 1
        if calls["n"] > 1:
            raise RuntimeError("psutil broke")
        return 0.0

    meter = CpuTdpMeter(CpuTdp("x", 100.0, 10, 10.0, "test", True), logical_cpus=1, cpu_percent=flaky)
    assert meter.name == "CPU: x (1 logical CPU)"
    with pytest.raises(MeterError, match="utilisation"):
        meter.read()


def test_cpu_tdp_meter_with_real_psutil() -> None:
    psutil = pytest.importorskip("psutil")
    tdp = lookup_cpu_tdp(None)
    meter = CpuTdpMeter(tdp)
    assert meter.logical_cpus == psutil.cpu_count(logical=True)
    power = meter.read().power_w
    assert 0.0 <= power <= meter.full_load_w


# ---------------------------------------------------------------- the RAM estimate


def test_ram_estimate_arithmetic() -> None:
    meter = RamEstimateMeter(total_bytes=64 * 2**30)
    assert isinstance(meter, Meter)
    assert (meter.kind, meter.method) == (KIND_RAM, "ram-estimate")
    assert meter.read().power_w == pytest.approx(0.3725 * 64)
    assert meter.read().power_w == meter.read().power_w  # constant
    assert RamEstimateMeter(total_bytes=2 * 2**30, w_per_gb=1.5).read().power_w == pytest.approx(3.0)
    assert "64.0 GB" in meter.name and "Estimate" in meter.note


def test_ram_constant_and_its_source() -> None:
    assert RAM_W_PER_GB == 0.3725
    assert "0.3725" in RAM_W_PER_GB_SOURCE and "Lannelongue" in RAM_W_PER_GB_SOURCE


def test_ram_estimate_reads_installed_memory() -> None:
    psutil = pytest.importorskip("psutil")
    meter = RamEstimateMeter()
    assert meter.total_bytes == psutil.virtual_memory().total
    assert meter.read().power_w > 0


def test_ram_estimate_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        RamEstimateMeter(total_bytes=0)
    with pytest.raises(ValueError):
        RamEstimateMeter(total_bytes=2**30, w_per_gb=0.0)


# ---------------------------------------------------------------- AMD GPUs through a fake amdsmi


@pytest.mark.parametrize("key", ["energy_accumulator", "power"])
def test_amd_energy_counter_with_either_key(key: str) -> None:
    gpu = {"energy": {key: 1000, "counter_resolution": 15.3, "timestamp": 1},
           "asic": {"market_name": "AMD Instinct MI300X"}}
    fake = FakeAmdSmi(gpu)
    [meter] = open_amd_meters(amdsmi=fake)
    assert isinstance(meter, Meter)
    assert (meter.kind, meter.method) == (KIND_GPU, "amdsmi-energy-counter")
    assert meter.name == "GPU 0: AMD Instinct MI300X"
    assert meter.read().energy_j == 0.0
    gpu["energy"] = {key: 1000 + 2_000_000, "counter_resolution": 15.3, "timestamp": 2}
    assert meter.read().energy_j == pytest.approx(2_000_000 * 15.3e-6)


def test_amd_power_fallback_when_no_energy_counter() -> None:
    gpus = [
        {"energy": None, "power": {"current_socket_power": "N/A", "average_socket_power": 212},
         "asic": {"market_name": "N/A"}},
        {"energy": {"energy_accumulator": 0, "counter_resolution": 0.0},  # no resolution: unusable
         "power": {"current_socket_power": 650, "average_socket_power": "N/A"}},
    ]
    fake = FakeAmdSmi(*gpus)
    first, second = open_amd_meters(amdsmi=fake)
    assert (first.method, second.method) == ("amdsmi-power", "amdsmi-power")
    assert first.name == "GPU 0: AMD GPU"       # market name "N/A"
    assert second.name == "GPU 1: AMD GPU"      # asic info not supported
    assert first.read().power_w == 212.0
    assert second.read().power_w == 650.0
    gpus[0]["power"] = {"current_socket_power": "N/A", "average_socket_power": "N/A"}
    with pytest.raises(MeterError, match="average_socket_power"):
        first.read()


def test_amd_gpu_with_neither_energy_nor_power_is_a_null_meter() -> None:
    fake = FakeAmdSmi({"energy": None, "power": {"current_socket_power": "N/A",
                                                  "average_socket_power": "N/A"}})
    [meter] = open_amd_meters(amdsmi=fake)
    assert isinstance(meter, NullMeter)
    assert meter.kind == KIND_GPU
    with pytest.raises(MeterError):
        meter.read()


def test_amd_exceptions_become_meter_errors() -> None:
    with pytest.raises(MeterError, match="DRIVER_NOT_LOADED"):
        open_amd_meters(amdsmi=FakeAmdSmi(init_error=True))

    gpu = {"energy": {"energy_accumulator": 5, "counter_resolution": 1.0}}
    [meter] = open_amd_meters(amdsmi=FakeAmdSmi(gpu))
    gpu["energy"] = FakeAmdSmiException("AMDSMI_STATUS_BUSY")
    with pytest.raises(MeterError, match="AMDSMI_STATUS_BUSY"):
        meter.read()
    gpu["energy"] = {"energy_accumulator": 4, "counter_resolution": 1.0}
    with pytest.raises(MeterError, match="backwards"):
        meter.read()


def test_amd_module_without_exception_class_falls_back_to_exception() -> None:
    def no_counter(handle: int) -> dict[str, Any]:
        raise RuntimeError("not supported")  # caught because the module names no exception class

    bare = SimpleNamespace(
        amdsmi_init=lambda: None, amdsmi_shut_down=lambda: None,
        amdsmi_get_processor_handles=lambda: [0], amdsmi_get_energy_count=no_counter,
        amdsmi_get_power_info=lambda h: {"current_socket_power": 90, "average_socket_power": 80},
        amdsmi_get_gpu_asic_info=lambda h: {"market_name": "AMD Radeon RX 7900 XTX"},
    )
    [meter] = open_amd_meters(amdsmi=bare)
    assert meter.method == "amdsmi-power"
    assert meter.name == "GPU 0: AMD Radeon RX 7900 XTX"
    assert meter.read().power_w == 90.0


def test_amd_shuts_down_once_when_the_last_meter_closes() -> None:
    gpu = {"energy": {"energy_accumulator": 0, "counter_resolution": 1.0}}
    fake = FakeAmdSmi(gpu, dict(gpu))
    meters = open_amd_meters(amdsmi=fake)
    assert fake.inits == 1 and fake.shutdowns == 0
    meters[0].close()
    meters[0].close()  # idempotent
    assert fake.shutdowns == 0
    meters[1].close()
    assert fake.shutdowns == 1
    with pytest.raises(MeterError, match="closed"):
        meters[0].read()


def test_amd_no_gpus_returns_empty_and_shuts_down() -> None:
    fake = FakeAmdSmi()
    assert open_amd_meters(amdsmi=fake) == []
    assert fake.shutdowns == 1


def test_amd_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "amdsmi", None)  # makes `import amdsmi` raise ImportError
    with pytest.raises(MeterError) as info:
        open_amd_meters()
    assert str(info.value) == NOT_INSTALLED == "amdsmi not installed: pip install amdsmi (AMD GPUs only)"


def test_amd_installed_without_rocm_library(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    # The real package prints and then fails with KeyError when libamd_smi.so is missing.
    package = tmp_path / "amdsmi"
    package.mkdir()
    (package / "__init__.py").write_text(
        "print('Unable to find libamd_smi.so library')\nraise KeyError('libamd_smi.so')\n")
    monkeypatch.delitem(sys.modules, "amdsmi", raising=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(MeterError, match="libamd_smi.so"):
        open_amd_meters()
    assert "Unable to find" not in capsys.readouterr().out  # kept off the user's terminal
    monkeypatch.delitem(sys.modules, "amdsmi", raising=False)
