"""The cloud comparison's assumed constants, each with its unit and source, stated once.

The report's ``assumptions`` entries for the comparison are written from these objects; the code
uses their values under the names below.
"""

from __future__ import annotations

from typing import Any

from ..model import Assumption

GPU_LOAD = Assumption(
    0.8, "fraction of TDP",
    "greenlove assumption: a GPU busy training draws about 80% of its power limit (TDP); where the "
    "local GPU's measured mean power and TDP are known, their ratio is used instead")

HOST_SHARE_OF_GPU = Assumption(
    0.82, "fraction of GPU power",
    "NVIDIA DGX H100 datasheet: 10.2 kW maximum system power for 8 x 700 W GPUs, so the rest of the "
    "server (CPUs, memory, network, fans) adds up to (10.2 - 5.6) / 5.6 = 0.82 of the GPUs' power; "
    "an upper figure (maximum power)")

MULTI_GPU_SCALING = Assumption(
    0.9, "per extra GPU",
    "greenlove assumption: data-parallel training on n GPUs of one instance runs 1 + 0.9 x (n - 1) "
    "times as fast as on one")

ROOFLINE_COMPUTE = Assumption(
    0.80, "of peak TFLOPS",
    "greenlove speedup.py: measured max matmul / dense spec (ml-engineering accelerator table), "
    "A100-H100-B200")
"""Share of the dense spec peak a large matmul actually reaches on a GPU: ml-engineering MAMF
(measured max achievable matmul TFLOPS, bf16, 2026-08) over the dense bf16 peaks in gpus.csv:
A100 SXM 271.2/312 = 0.87, A100 PCIe 0.81, H100 SXM 794.5/989 = 0.80, B200 0.78, GB200 0.73
(AMD MI300X-MI355X reach 0.51-0.63; not modelled apart). Applied to every spec peak, so it
cancels between two GPUs that are both compute-bound; it matters against the CPU stand-in,
whose figures are achieved matmul rates, not peaks."""

ROOFLINE_BANDWIDTH = Assumption(0.85, "of peak bandwidth", "greenlove assumption")
"""Share of spec memory bandwidth a streaming copy reaches (no source in the reference data)."""

BASELINE_WEIGHTS = Assumption(
    [0.7, 0.3], "TFLOPS ratio, bandwidth ratio", "the method greenlove started from (DESIGN.md)")

GPU_LOAD_FRACTION: float = GPU_LOAD.value
HOST_SHARE: float = HOST_SHARE_OF_GPU.value
SCALING_EFFICIENCY: float = MULTI_GPU_SCALING.value
ACHIEVABLE_COMPUTE_FRACTION: float = ROOFLINE_COMPUTE.value
ACHIEVABLE_BANDWIDTH_FRACTION: float = ROOFLINE_BANDWIDTH.value
BASELINE_TFLOPS_WEIGHT, BASELINE_BANDWIDTH_WEIGHT = BASELINE_WEIGHTS.value


def cloud_assumptions() -> dict[str, dict[str, Any]]:
    """The comparison's assumptions, as the report's JSON ``assumptions`` entries."""
    return {
        "cloud_gpu_load_fraction": GPU_LOAD.to_dict(),
        "cloud_host_share": HOST_SHARE_OF_GPU.to_dict(),
        "multi_gpu_scaling_efficiency": MULTI_GPU_SCALING.to_dict(),
        "roofline_compute_fraction": ROOFLINE_COMPUTE.to_dict(),
        "roofline_bandwidth_fraction": ROOFLINE_BANDWIDTH.to_dict(),
        "baseline_speedup_weights": BASELINE_WEIGHTS.to_dict(),
    }
