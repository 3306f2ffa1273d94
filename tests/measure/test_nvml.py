"""NVIDIA meters against a fake NVML: methods, fallbacks, errors, CUDA_VISIBLE_DEVICES, closing."""

from __future__ import annotations

import subprocess
import sys

import pytest

from greenlove.measure.devices.base import KIND_GPU, Meter, MeterError, NullMeter
from greenlove.measure.devices.nvml import (
    METHOD_ENERGY,
    METHOD_POWER_AVERAGE,
    METHOD_POWER_INSTANT,
    open_nvidia_meters,
)
from tests.fakes import nvml as fake_nvml
from tests.fakes.nvml import FakeNvml, gpu


def open_meters(nvml: FakeNvml, visible: str | None = None) -> list[Meter]:
    env = {} if visible is None else {"CUDA_VISIBLE_DEVICES": visible}
    return open_nvidia_meters(nvml, env)


def close_all(meters: list[Meter]) -> None:
    for meter in meters:
        meter.close()


def test_fake_constants_match_pynvml():
    pynvml = pytest.importorskip("pynvml")
    for name in fake_nvml.CONSTANT_NAMES:
        assert getattr(fake_nvml, name) == getattr(pynvml, name), name


# -- methods ---------------------------------------------------------------------------------
def test_energy_counter_reads_joules():
    nvml = FakeNvml(gpu(0, energy_start_mj=5_000_000, energy_step_mj=30_000))
    (meter,) = open_meters(nvml)
    assert isinstance(meter, Meter)
    assert (meter.name, meter.kind, meter.method, meter.note) == (
        "GPU 0: NVIDIA H100 80GB HBM3", KIND_GPU, METHOD_ENERGY, "")
    assert meter.uuid == nvml.gpus[0].uuid
    assert meter.tdp_w == 700.0
    first, second = meter.read(), meter.read()   # the probe at open was read 1
    assert first.energy_j == pytest.approx(5_060.0) and first.power_w is None
    assert second.energy_j - first.energy_j == pytest.approx(30.0)
    meter.close()


def test_bytes_names_and_unknown_power_limit():
    nvml = FakeNvml(gpu(0, name="Tesla V100-SXM2-16GB", as_bytes=True, power_limit_mw=None))
    (meter,) = open_meters(nvml)
    assert meter.name == "GPU 0: Tesla V100-SXM2-16GB"
    assert meter.uuid == nvml.gpus[0].uuid and meter.tdp_w is None
    meter.close()


def test_no_energy_counter_falls_back_to_instant_power_field():
    nvml = FakeNvml(gpu(0, energy_counter=False, power_mw=250_500))
    (meter,) = open_meters(nvml)
    assert meter.method == METHOD_POWER_INSTANT
    assert "1-second" not in meter.note
    reading = meter.read()
    assert reading.power_w == pytest.approx(250.5) and reading.energy_j is None
    meter.close()


@pytest.mark.parametrize(("name", "arch", "averaged"), [
    ("NVIDIA GeForce RTX 3090", fake_nvml.NVML_DEVICE_ARCH_AMPERE, True),
    ("NVIDIA RTX A3000 Laptop GPU", fake_nvml.NVML_DEVICE_ARCH_AMPERE, True),
    ("NVIDIA L4", fake_nvml.NVML_DEVICE_ARCH_ADA, True),
    ("NVIDIA A100-SXM4-80GB", fake_nvml.NVML_DEVICE_ARCH_AMPERE, False),
    ("NVIDIA A30", fake_nvml.NVML_DEVICE_ARCH_AMPERE, False),
    ("Tesla T4", fake_nvml.NVML_DEVICE_ARCH_TURING, False),
    ("Mystery GPU", fake_nvml.NVML_DEVICE_ARCH_UNKNOWN, False),
])
def test_power_usage_fallback_and_one_second_note(name, arch, averaged):
    nvml = FakeNvml(gpu(0, name=name, architecture=arch, energy_counter=False,
                        instant_power=False, power_mw=123_000))
    (meter,) = open_meters(nvml)
    assert meter.method == METHOD_POWER_AVERAGE
    assert ("1-second average" in meter.note) == averaged
    assert meter.read().power_w == pytest.approx(123.0)
    meter.close()


def test_no_permission_gives_null_meter_with_reason():
    nvml = FakeNvml(gpu(0, no_permission=True), gpu(1))
    meters = open_meters(nvml)
    assert isinstance(meters[0], NullMeter)
    assert meters[0].name == "GPU 0: NVIDIA H100 80GB HBM3" and meters[0].kind == KIND_GPU
    assert "no permission" in meters[0].note and "Insufficient Permissions" in meters[0].note
    with pytest.raises(MeterError, match="not measured"):
        meters[0].read()
    assert meters[1].method == METHOD_ENERGY
    close_all(meters)
    assert nvml.shutdown_calls == 1


def test_nothing_supported_gives_null_meter():
    nvml = FakeNvml(gpu(0, energy_counter=False, instant_power=False, power_usage=False))
    (meter,) = open_meters(nvml)
    assert isinstance(meter, NullMeter) and "neither energy nor power" in meter.note
    assert "nvml-energy-counter: Not Supported" in meter.note
    assert "nvml-power-average: Not Supported" in meter.note
    assert nvml.shutdown_calls == 1   # no NVML meter holds the library open


# -- read errors -----------------------------------------------------------------------------
def test_gpu_lost_mid_run_others_still_readable():
    nvml = FakeNvml(gpu(0, lost_after_reads=3), gpu(1))
    lost, healthy = open_meters(nvml)
    lost.read()
    lost.read()   # reads 2 and 3 (the probe was the first)
    with pytest.raises(MeterError, match="GPU 0: .*GPU lost"):
        lost.read()
    assert healthy.read().energy_j > 0
    close_all([lost, healthy])


def test_energy_counter_going_backwards_raises():
    nvml = FakeNvml(gpu(0, reset_after_reads=2))
    (meter,) = open_meters(nvml)
    meter.read()
    with pytest.raises(MeterError, match="energy counter went backwards"):
        meter.read()
    meter.close()


def test_other_nvml_read_errors_are_translated():
    nvml = FakeNvml(gpu(0))
    (meter,) = open_meters(nvml)
    nvml.gpus[0].energy_counter = False   # as if the driver changed its mind mid-run
    with pytest.raises(MeterError, match="GPU 0: .*Not Supported"):
        meter.read()
    meter.close()
    with pytest.raises(MeterError, match="closed"):
        meter.read()


# -- CUDA_VISIBLE_DEVICES -----------------------------------------------------------------------
def names(meters: list[Meter]) -> list[str]:
    return [meter.name for meter in meters]


def three_gpus() -> FakeNvml:
    return FakeNvml(gpu(0, name="A"), gpu(1, name="B"), gpu(2, name="C"))


@pytest.mark.parametrize(("visible", "expected"), [
    (None, ["GPU 0: A", "GPU 1: B", "GPU 2: C"]),
    ("1,0", ["GPU 0: B", "GPU 1: A"]),
    ("0,7,1", ["GPU 0: A"]),                 # CUDA stops at the first invalid entry
    (" 2 , 0", ["GPU 0: C", "GPU 1: A"]),
    ("GPU-11111111", ["GPU 0: B"]),          # a UUID prefix
    ("GPU-22222222-1111-2222-3333-444444444444,0", ["GPU 0: C", "GPU 1: A"]),
    ("GPU-9,1", []),                         # an unknown UUID ends the list at once
    ("0,0", []),                             # a repeated device hides them all
    ("", []),
    ("-1", []),
    ("1,-1,2", ["GPU 0: B"]),
])
def test_cuda_visible_devices(visible, expected):
    nvml = three_gpus()
    meters = open_meters(nvml, visible)
    assert names(meters) == expected
    close_all(meters)
    assert nvml.shutdown_calls == nvml.init_calls


def test_hidden_gpus_need_no_nvml():
    def no_pynvml():
        raise AssertionError("NVML must not be loaded when no GPU is visible")
    assert open_nvidia_meters(env={"CUDA_VISIBLE_DEVICES": ""}, load_nvml=no_pynvml) == []


def test_mig_entry_gives_null_meter():
    nvml = three_gpus()
    (meter,) = open_meters(nvml, "MIG-5c3b3c7e-7f4c-5b5e-9d0b-2a4c0f1e8d11")
    assert isinstance(meter, NullMeter)
    assert meter.name.startswith("GPU 0: MIG-") and "MIG instance" in meter.note


# -- opening and closing -----------------------------------------------------------------------
@pytest.mark.parametrize(("code", "text"), [
    (fake_nvml.NVML_ERROR_LIBRARY_NOT_FOUND, "libnvidia-ml.so.1"),
    (fake_nvml.NVML_ERROR_DRIVER_NOT_LOADED, "driver is not loaded"),
    (fake_nvml.NVML_ERROR_LIB_RM_VERSION_MISMATCH, "reboot"),
    (fake_nvml.NVML_ERROR_NO_PERMISSION, "no permission"),
    (fake_nvml.NVML_ERROR_UNKNOWN, "Unknown Error"),
])
def test_init_failures_are_explained(code, text):
    with pytest.raises(MeterError, match="GPU energy cannot be measured") as caught:
        open_meters(FakeNvml(gpu(0), init_error=code))
    assert text in str(caught.value)


def test_missing_pynvml_is_explained(monkeypatch):
    def missing():
        raise ImportError("No module named 'pynvml'")
    with pytest.raises(MeterError, match="pip install nvidia-ml-py"):
        open_nvidia_meters(env={}, load_nvml=missing)
    monkeypatch.setitem(sys.modules, "pynvml", None)   # the default loader: import fails
    with pytest.raises(MeterError, match="pip install nvidia-ml-py"):
        open_nvidia_meters(env={})


def test_failure_while_listing_gpus_shuts_nvml_down():
    nvml = FakeNvml(gpu(0))

    def broken_count() -> int:
        raise fake_nvml.NVMLError(fake_nvml.NVML_ERROR_UNKNOWN)
    nvml.nvmlDeviceGetCount = broken_count
    with pytest.raises(MeterError, match="could not list the GPUs: Unknown Error"):
        open_meters(nvml)
    assert (nvml.init_calls, nvml.shutdown_calls) == (1, 1)


def test_meters_share_one_init_and_close_is_idempotent():
    nvml = FakeNvml(gpu(0), gpu(1, energy_counter=False), gpu(2, no_permission=True))
    meters = open_meters(nvml)
    assert nvml.init_calls == 1
    meters[0].close()
    meters[0].close()
    assert nvml.shutdown_calls == 0   # GPU 1 still uses the library
    assert meters[1].read().power_w > 0
    close_all(meters)
    close_all(meters)
    assert nvml.shutdown_calls == 1


def test_greenlove_imports_without_pynvml():
    # torch imports pynvml itself when it is installed, so block it instead: greenlove's own
    # import must not need it (nor probe NVML).
    code = ("import sys; sys.modules['pynvml'] = None; "
            "import greenlove, greenlove.measure.devices.nvml; print('imported')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "imported"


def test_real_pynvml_without_driver_raises_meter_error():
    pytest.importorskip("pynvml")
    try:
        meters = open_nvidia_meters(env={})
    except MeterError as error:
        assert "GPU energy cannot be measured" in str(error)
        return
    close_all(meters)
    pytest.skip("an NVIDIA driver is present on this machine")
