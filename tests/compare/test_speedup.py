"""Local device, workload profile, speed-up estimates and their leave-one-out check.

Everything runs on hand-written GpuSpec / ThroughputRatio rows, never on the package data.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from greenlove.compare.assumptions import ACHIEVABLE_BANDWIDTH_FRACTION, ACHIEVABLE_COMPUTE_FRACTION
from greenlove.compare.speedup import (
    baseline_speedup,
    published_ratio,
    roofline_speedup,
    speedups_for,
)
from greenlove.data.tables import GpuSpec, ThroughputRatio
from greenlove.measure.local_device import LocalDevice, identify_local_device, measure_cpu_standin
from greenlove.measure.workload_profile import (
    WorkloadProfile,
    detect_precision,
    infer_family,
    profile_training_step,
)
from greenlove.validate.speedup_accuracy import fit_intensity, leave_one_out, summarise


def gpu(name: str, fp32: float | None, bw: float | None, *, tf32=None, fp16=None, bf16=None) -> GpuSpec:
    return GpuSpec(name=name, vendor="V", architecture="arch", segment="datacenter", memory_gb=16,
                   memory_bandwidth_gbs=bw, fp32_tflops=fp32, tf32_tflops_dense=tf32,
                   fp16_tflops_dense=fp16, bf16_tflops_dense=bf16, tdp_w=300, release_year=2020,
                   source=f"test spec {name}", as_of="2026-01-01")


def ratio(task, family, gpu_name, base, value, *, precision="fp32", source="table-1", as_of="2024-01-01"):
    return ThroughputRatio(task=task, family=family, precision=precision, gpu=gpu_name, baseline_gpu=base,
                           relative_throughput=value, source=source, as_of=as_of)


LOCAL = gpu("Local", 10.0, 100.0, fp16=40.0)
TARGET = gpu("Target", 40.0, 200.0, fp16=160.0, bf16=160.0)
NODATA = gpu("Nodata", 20.0, 150.0)
RATIOS = (
    ratio("resnet", "conv", "Local", "Base", 2.0), ratio("resnet", "conv", "Target", "Base", 6.0),
    ratio("bert", "transformer", "Local", "Base", 2.0), ratio("bert", "transformer", "Target", "Base", 8.0),
    ratio("bert2", "transformer", "Local", "Base", 1.0), ratio("bert2", "transformer", "Target", "Base", 4.0),
    ratio("geomean(3 models)", "other", "Local", "Base", 1.0),     # derived rows are never used
    ratio("geomean(3 models)", "other", "Target", "Base", 100.0),
)


def spec_local(spec: GpuSpec) -> LocalDevice:
    return LocalDevice(spec.name, "gpu", spec, None, None, "spec-table", spec.source)


def profile(flops: float, bytes_: float, precision: str = "fp32", family: str = "conv") -> WorkloadProfile:
    return WorkloadProfile(flops, bytes_, precision, family, "given")


# --- (b) published ratios ------------------------------------------------------------------------------

def test_published_ratio_uses_the_workload_family():
    conv = published_ratio(LOCAL, TARGET, RATIOS, "conv", "fp32")
    assert conv.value == pytest.approx(3.0) and conv.method == "published-ratio"
    assert "family conv" in conv.detail and "resnet" in conv.detail
    transformer = published_ratio(LOCAL, TARGET, RATIOS, "transformer", "tf32")
    assert transformer.value == pytest.approx(4.0)
    assert "bert, bert2" in transformer.detail


def test_published_ratio_falls_back_to_the_geometric_mean_across_tasks():
    s = published_ratio(LOCAL, TARGET, RATIOS, "recurrent", "fp32")
    assert s.value == pytest.approx((3.0 * 4.0 * 4.0) ** (1 / 3))
    assert "no recurrent task" in s.detail and "geometric mean" in s.detail
    assert "geomean" not in s.detail


def test_published_ratio_none_without_data_and_baseline_counts_as_one():
    assert published_ratio(LOCAL, NODATA, RATIOS, "conv", "fp32") is None
    assert published_ratio(LOCAL, TARGET, RATIOS, "conv", "fp16") is None       # no fp16 rows
    base = gpu("Base", 5.0, 50.0)
    assert published_ratio(base, TARGET, RATIOS, "conv", "fp32").value == pytest.approx(6.0)


def test_published_ratio_never_mixes_tables_within_a_task():
    rows = RATIOS + (ratio("resnet", "conv", "Local", "Old", 1.0, source="old", as_of="2020-01-01"),
                     ratio("resnet", "conv", "Target", "Old", 10.0, source="old", as_of="2020-01-01"))
    assert published_ratio(LOCAL, TARGET, rows, "conv", "fp32").value == pytest.approx(3.0)


# --- (c) roofline --------------------------------------------------------------------------------------

def test_roofline_compute_bound_and_memory_bound_by_hand():
    compute = roofline_speedup(spec_local(LOCAL), TARGET, profile(1e12, 1e9))
    assert compute.value == pytest.approx(40 / 10)
    assert "local compute-bound" in compute.detail and "target compute-bound" in compute.detail
    memory = roofline_speedup(spec_local(LOCAL), TARGET, profile(1e9, 1e10))
    assert memory.value == pytest.approx(200 / 100)
    assert "local memory-bound" in memory.detail


def test_roofline_mixed_bounds_by_hand():
    # Local: compute 1e12/8e12 = 0.125 s vs memory 1e10/85e9 = 0.1176 s -> compute-bound.
    # Target: compute 1e12/32e12 = 0.03125 s vs memory 1e10/170e9 = 0.0588 s -> memory-bound.
    s = roofline_speedup(spec_local(LOCAL), TARGET, profile(1e12, 1e10))
    local_s = 1e12 / (10e12 * ACHIEVABLE_COMPUTE_FRACTION)
    target_s = 1e10 / (200e9 * ACHIEVABLE_BANDWIDTH_FRACTION)
    assert s.value == pytest.approx(local_s / target_s)
    assert "local compute-bound" in s.detail and "target memory-bound" in s.detail


def test_roofline_against_the_measured_cpu_standin_uses_achieved_figures():
    cpu = LocalDevice("CPU", "cpu", None, 1.0, 20.0, "measured-cpu-standin", "measured here")
    s = roofline_speedup(cpu, TARGET, profile(1e12, 1e6))
    assert s.value == pytest.approx(1.0 / (1e12 / (40e12 * ACHIEVABLE_COMPUTE_FRACTION)))
    assert "measured" in s.detail



def test_roofline_adds_the_measured_dispatch_floor_and_uses_the_measured_local_step():
    import dataclasses

    cpu = LocalDevice("CPU", "cpu", None, 1.0, 20.0, "measured-cpu-standin", "measured here",
                      op_overhead_s=5e-6)
    small = dataclasses.replace(profile(1e9, 1e6), ops_per_step=100)   # 100 ops x 5 us = 0.5 ms
    target_s = 1e9 / (40e12 * ACHIEVABLE_COMPUTE_FRACTION) + 100 * 5e-6
    s = roofline_speedup(cpu, TARGET, small, local_step_s=2e-3)
    assert s.value == pytest.approx(2e-3 / target_s)
    assert "overhead-bound" in s.detail and "100 ops" in s.detail and "2 ms as measured" in s.detail
    # Without a measured step the local side is its roofline plus the same floor.
    s = roofline_speedup(cpu, TARGET, small)
    assert s.value == pytest.approx((1e9 / 1e12 + 5e-4) / target_s)
    # A spec'd local GPU keeps its roofline: the measured step would mix in data loading.
    gpu_local = dataclasses.replace(spec_local(LOCAL), op_overhead_s=5e-6)
    s = roofline_speedup(gpu_local, TARGET, small, local_step_s=1.0)
    assert s.value < 10

def test_roofline_precision_fallbacks_are_labelled():
    tf32 = roofline_speedup(spec_local(LOCAL), TARGET, profile(1e12, 1e9, "tf32"))
    assert tf32.value == pytest.approx(4.0) and "tf32 not in table: fp32 column used" in tf32.detail
    bf16 = roofline_speedup(spec_local(LOCAL), TARGET, profile(1e12, 1e9, "bf16"))
    assert bf16.value == pytest.approx(160 / 40)
    assert "local bf16 not in table: fp16 column used" in bf16.detail
    assert "target bf16" not in bf16.detail                              # target has a bf16 figure
    assert roofline_speedup(spec_local(LOCAL), NODATA, profile(1e12, 1e9, "fp16")) is None


# --- (d) baseline and the ordering ---------------------------------------------------------------------

def test_baseline_formula_by_hand():
    s = baseline_speedup(spec_local(LOCAL), TARGET)
    assert s.value == pytest.approx(0.7 * 40 / 10 + 0.3 * 200 / 100)
    assert s.method == "tflops-bandwidth-baseline"
    assert baseline_speedup(LOCAL, TARGET).value == pytest.approx(3.4)   # specs alone
    assert baseline_speedup(LOCAL, gpu("NoBw", 10.0, None)) is None


def test_speedups_for_order_and_user_measured_first():
    got = speedups_for(spec_local(LOCAL), TARGET, profile=profile(1e12, 1e9), ratios=RATIOS,
                       user_speedup=5.0)
    assert [s.method for s in got] == ["user-measured", "published-ratio", "roofline",
                                       "tflops-bandwidth-baseline"]
    assert got[0].value == 5.0
    without = speedups_for(spec_local(LOCAL), NODATA, profile=profile(1e12, 1e9), ratios=RATIOS)
    assert [s.method for s in without] == ["roofline", "tflops-bandwidth-baseline"]
    cpu = LocalDevice("CPU", "cpu", None, 1.0, 20.0, "measured-cpu-standin", "measured here")
    assert speedups_for(cpu, TARGET, profile=None, ratios=RATIOS)[0].method == "tflops-bandwidth-baseline"
    with pytest.raises(ValueError):
        speedups_for(cpu, TARGET, profile=None, ratios=RATIOS, user_speedup=-1.0)


# --- local device --------------------------------------------------------------------------------------

def test_cpu_standin_with_an_injected_clock_is_deterministic():
    ticks = iter(range(10**6))
    device = measure_cpu_standin(0.05, clock=lambda: next(ticks) * 0.02)   # every timing: 20 ms
    assert device.method == "measured-cpu-standin" and device.kind == "cpu"
    assert device.achieved_tflops == pytest.approx(2 * 256**3 / 0.02 / 1e12)
    assert device.achieved_bandwidth_gbs == pytest.approx(2 * 256 * 2**20 / 0.02 / 1e9)


def test_cpu_standin_measures_positive_finite_figures_quickly():
    device = measure_cpu_standin(0.3)
    assert 0 < device.achieved_tflops < math.inf and 0 < device.achieved_bandwidth_gbs < math.inf


def test_identify_local_device_spec_unknown_and_cpu(monkeypatch):
    specs = (LOCAL, TARGET)
    known = identify_local_device(specs, cuda_name="Local")
    assert known.method == "spec-table" and known.spec is LOCAL
    fake = LocalDevice("x", "cpu", None, 7.0, 70.0, "measured-cpu-standin", "timed")
    calls = []

    def measure(**kwargs):
        calls.append(kwargs)
        return fake

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    unknown = identify_local_device(specs, cuda_name="Mystery GPU", measure=measure)
    assert unknown.method == "unknown-gpu" and unknown.achieved_tflops is None and not calls
    assert identify_local_device(specs, measure=measure) is fake and calls == [{}]
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    timed = identify_local_device(specs, cuda_name="Mystery GPU", measure=measure)
    assert timed.method == "unknown-gpu" and timed.kind == "gpu" and timed.achieved_tflops == 7.0
    assert calls[-1]["device"].type == "cuda" and "not in the spec table" in timed.source



@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_gpu_timing_and_tf32_detection():
    timed = measure_cpu_standin(0.5, device="cuda")
    assert timed.kind == "gpu" and timed.achieved_tflops > 0 and timed.achieved_bandwidth_gbs > 0
    model = nn.Linear(4, 4).cuda()
    previous = torch.backends.cuda.matmul.allow_tf32
    try:
        torch.backends.cuda.matmul.allow_tf32 = True
        assert detect_precision(model) == "tf32"
        torch.backends.cuda.matmul.allow_tf32 = False
        assert detect_precision(model) == "fp32"
    finally:
        torch.backends.cuda.matmul.allow_tf32 = previous

# --- workload profile ----------------------------------------------------------------------------------

class SelfAttention(nn.Module):
    def __init__(self, d: int) -> None:
        super().__init__()
        self.qkv, self.out = nn.Linear(d, 3 * d), nn.Linear(d, d)


def test_infer_family_of_small_models():
    conv = nn.Sequential(nn.Conv2d(3, 16, 3), nn.ReLU(), nn.Conv2d(16, 16, 3), nn.Flatten(),
                         nn.Linear(16, 10))
    assert infer_family(conv)[0] == "conv" and "2 Conv2d" in infer_family(conv)[1]
    lstm = nn.ModuleDict({"emb": nn.Embedding(10000, 64), "rnn": nn.LSTM(64, 64), "head": nn.Linear(64, 10)})
    assert infer_family(lstm)[0] == "recurrent"
    encoder = nn.Sequential(nn.TransformerEncoderLayer(32, 4, 64), nn.Linear(32, 10))
    assert infer_family(encoder)[0] == "transformer"
    custom = nn.Sequential(SelfAttention(32), nn.Linear(32, 128), nn.Linear(128, 32))
    assert infer_family(custom)[0] == "transformer"
    assert infer_family(nn.Sequential(nn.Linear(8, 8), nn.ReLU()))[0] == "other"
    tiny_conv = nn.Sequential(nn.Conv1d(1, 1, 1), nn.Linear(512, 512))
    assert infer_family(tiny_conv)[0] == "other"


def test_detect_precision():
    model = nn.Linear(4, 4)
    assert detect_precision(model) == "fp32"
    assert detect_precision(nn.Linear(4, 4).to(torch.bfloat16)) == "bf16"
    assert detect_precision(model, autocast_dtype=torch.float16) == "fp16"
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert detect_precision(model) == "bf16"


def _linear_step(model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, autocast=False):
    def step() -> None:
        optimizer.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            out = model(x)
        out.float().sum().backward()
        optimizer.step()
    return step


def test_profile_training_step_linear_flops_and_bytes():
    torch.manual_seed(0)
    batch, n_in, n_out = 16, 8, 4
    model = nn.Linear(n_in, n_out)
    x = torch.randn(batch, n_in, requires_grad=True)     # so backward also computes the input gradient
    optimizer = torch.optim.Adam(model.parameters())
    p = profile_training_step(_linear_step(model, optimizer, x), model=model)
    assert p.flops_per_step == 3 * 2 * n_in * n_out * batch
    weights = (n_in * n_out + n_out) * 4
    state = 2 * weights                                  # Adam: exp_avg and exp_avg_sq
    activations = batch * n_out * 4
    assert p.bytes_per_step == 2 * weights + weights + 3 * weights + 2 * state + 2 * activations
    assert p.precision == "fp32" and p.family == "other" and "Adam" in p.bytes_detail


def test_profile_training_step_sees_autocast_and_takes_a_given_family():
    model = nn.Linear(8, 4)
    step = _linear_step(model, torch.optim.SGD(model.parameters(), lr=0.1), torch.randn(16, 8), autocast=True)
    p = profile_training_step(step, model=model, family="transformer")
    assert p.precision == "bf16" and p.family == "transformer" and p.family_source == "given"
    assert p.flops_per_step == 2 * 2 * 8 * 4 * 16          # no input gradient: forward + weight grad
    with pytest.raises(ValueError):
        profile_training_step(step, model=model, family="cnn")


# --- leave-one-out -------------------------------------------------------------------------------------

# A: 4x the base's FLOPS at the same bandwidth; C: 2x both (ratio 2 whatever the intensity).
LOO_SPECS = (gpu("B", 10.0, 100.0), gpu("A", 40.0, 100.0), gpu("C", 20.0, 200.0))
LOO_RATIOS = (
    ratio("t", "conv", "A", "B", 4.0),                             # compute-bound truth
    ratio("t", "conv", "B", "A", 0.25, source="table-2"),         # the same pair, reversed
    ratio("t", "conv", "C", "B", 2.0),
    ratio("solo", "conv", "A", "B", 3.0),                          # nothing else to fit on
)


def test_leave_one_out_excludes_the_held_out_pair():
    rows = {(r.task, r.gpu, r.baseline_gpu): r for r in leave_one_out(LOO_SPECS, LOO_RATIOS)}
    held = rows[("t", "A", "B")]
    # Fitted on C alone, the intensity is undetermined and the lowest is taken: memory-bound,
    # so A (same bandwidth as B) predicts 1.0. Had the reversed row of the same pair been in the
    # fit, the answer would have been exact:
    assert held.fit_pairs == 1 and held.roofline_ratio == pytest.approx(1.0)
    leaky = fit_intensity(np.array([[32e12, 85e9, 8e12, 85e9], [8e12, 85e9, 32e12, 85e9]]),
                          np.array([4.0, 0.25]))
    assert leaky * 85e9 >= 32e12 * 0.999                            # past A's ridge: ratio 4 exactly
    assert rows[("t", "C", "B")].roofline_ratio == pytest.approx(2.0)
    assert rows[("solo", "A", "B")].roofline_ratio is None
    assert held.baseline_ratio == pytest.approx(0.7 * 4 + 0.3 * 1)
    assert held.roofline_error == pytest.approx(1.0 / 4.0 - 1)


def test_summarise_median_and_worst():
    rows = leave_one_out(LOO_SPECS, LOO_RATIOS)
    s = summarise(rows)
    assert s.rows == 4 and s.compared_rows == 3 and s.pairs == 2 and s.tasks == 2
    both = [r for r in rows if r.roofline_ratio is not None]
    errors = sorted(abs(r.roofline_error) for r in both)
    assert s.roofline.median_abs_error == pytest.approx(errors[1])
    assert s.roofline.worst_abs_error == pytest.approx(errors[-1])
    assert s.baseline.worst_abs_error == pytest.approx(max(abs(r.baseline_error) for r in both))
