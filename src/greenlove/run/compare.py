"""The cloud comparison's part of one benchmark: the site, one profiled training step (the first
of the first timed epoch), the local device, and the comparison built from the predictions. The
Benchmark owns one CompareRun."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..compare import CloudOptions, Comparison, Site, build_comparison, resolve_site
from ..data.tables import load_gpus
from ..measure.local_device import LocalDevice, identify_local_device
from ..measure.ranks import World
from ..measure.timing import BatchRecorder, Clock, cuda_in_use
from ..measure.workload_profile import StepProfiler, WorkloadProfile
from ..model import TimePrediction
from ..model.energy import EnergyPrediction


class CompareRun:
    """``options`` None: no cloud comparison (local cost and CO2 are still computed)."""

    def __init__(self, options: CloudOptions | None, site: Site | None, *, clock: Clock,
                 world: World | None = None) -> None:
        self._world = world or World()
        if options is not None and options.gpus is None:
            # Instances with as many GPUs as the job has ranks (1 outside a distributed job).
            options = replace(options, gpus=self._world.size)
        self.options, self._clock = options, clock
        # Resolved now, so that an unknown zone fails before the benchmark, not after it.
        self.site = resolve_site(site)
        self.profile: WorkloadProfile | None = None
        self.device: LocalDevice | None = None
        self.notes: list[str] = []
        self.extras_s: dict[str, float] = {}
        self._profiler: StepProfiler | None = None

    def profile_first_step(self, model: Any, recorder: BatchRecorder) -> bool:
        """Arm ``recorder`` so that the first training step of the coming epoch is profiled
        (FLOPs counted, bytes estimated). True when armed; say why not otherwise."""
        if self.options is None:
            return False
        if model is None:
            self.notes.append(
                "No torch.nn.Module in restore=..., so no training step could be profiled: the "
                "cloud speed-ups use published ratios and the TFLOPS/bandwidth baseline only.")
            return False
        profiler = StepProfiler(model, precision=self.options.precision, family=self.options.family)
        self._profiler = profiler
        recorder.around_first_step(profiler.start, profiler.stop)
        return True

    def finish_profile(self) -> None:
        """Collect the profile (idempotent; safe after an error or a loop left early)."""
        profiler, self._profiler = self._profiler, None
        if profiler is None:
            return
        profiler.stop()
        if profiler.started:
            self.profile = profiler.result()
        else:
            self.notes.append("The first epoch drew no batch, so no training step was profiled: "
                              "the cloud speed-ups use published ratios and the baseline only.")

    def identify_device(self) -> None:
        if self.options is None:
            return
        if self.options.device is not None:
            self.device = self.options.device
            return
        t0 = self._clock()
        self.device = identify_local_device(load_gpus(self.options.gpus_table))
        self.extras_s["device measurement"] = self._clock() - t0

    def _local_devices(self) -> int:
        """Devices the local run trains on in parallel: one GPU per rank, or (on CPUs) one
        CPU per node."""
        return self._world.size if cuda_in_use() else self._world.nodes

    def comparison(self, prediction: TimePrediction, energy: EnergyPrediction | None) -> Comparison:
        """The comparison, its warnings led by this run's own notes (what could not be profiled)."""
        gpu_w = None
        if energy is not None:
            gpu_powers = [d.mean_power_w for d in energy.devices if d.kind == "gpu" and d.mean_power_w]
            gpu_w = sum(gpu_powers) / len(gpu_powers) if gpu_powers else None  # per GPU
        comparison = build_comparison(
            time_s=prediction.time_s, energy_kwh=energy.energy_kwh if energy else None,
            site=self.site, device=self.device, profile=self.profile, gpu_power_w=gpu_w,
            options=self.options, step_s=prediction.per_batch_s or None,
            local_devices=self._local_devices(),
        )
        return replace(comparison, warnings=(*self.notes, *comparison.warnings))
