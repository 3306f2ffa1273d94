"""The machine's fingerprint: read when asked, from an injectable /proc/cpuinfo; no host name."""

from __future__ import annotations

import os
import socket

import pytest

from greenlove.history import machine_fingerprint, same_machine
from greenlove.history.fingerprint import cpu_model

CPUINFO = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Fake Xeon(R) CPU @ 2.20GHz
flags\t\t: fpu vme

processor\t: 1
model name\t: Fake Xeon(R) CPU @ 2.20GHz
"""


def test_the_fingerprint_reads_the_cpu_model_from_cpuinfo(tmp_path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(CPUINFO)
    found = machine_fingerprint(cpuinfo=cpuinfo)
    assert found["cpu"] == "Fake Xeon(R) CPU @ 2.20GHz"
    assert found["logical_cpus"] == os.cpu_count()
    assert found["gpus"] in ([], None)           # no CUDA, or CUDA not initialised: not looked at
    assert len(found["host"]) == 16 and socket.gethostname() not in found.values()
    assert set(found) == {"cpu", "logical_cpus", "gpus", "gpu_count", "host", "system"}


def test_without_cpuinfo_the_platform_answers(tmp_path) -> None:
    assert cpu_model(tmp_path / "missing")
    (tmp_path / "empty").write_text("processor\t: 0\n")
    assert cpu_model(tmp_path / "empty")


def test_same_machine_compares_cpu_cores_gpus_and_host(tmp_path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(CPUINFO)
    here = machine_fingerprint(cpuinfo=cpuinfo)
    assert same_machine(here, machine_fingerprint(cpuinfo=cpuinfo))
    here = {**here, "gpus": [], "gpu_count": 0}
    assert same_machine(here, {**here, "system": "elsewhere", "gpus": ()})
    assert same_machine({**here, "gpus": ["GPU A"]}, {**here, "gpus": None})   # not looked at
    for key, value in (("cpu", "Other CPU"), ("logical_cpus", 64), ("gpus", ["GPU A"]),
                       ("host", "0" * 16)):
        assert not same_machine(here, {**here, key: value})


def test_gpus_are_named_only_where_cuda_is_already_initialised(monkeypatch) -> None:
    import torch

    from greenlove.history import fingerprint

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert fingerprint.machine_fingerprint()["gpus"] == []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: False)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda i: pytest.fail("probed CUDA"))
    found = fingerprint.machine_fingerprint()
    assert found["gpus"] is None and found["gpu_count"] is None
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda i: f"GPU {i}")
    assert fingerprint.machine_fingerprint()["gpus"] == ["GPU 0", "GPU 1"]
