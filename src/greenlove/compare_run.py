"""The cloud comparison's part of one benchmark: the site, one profiled training step, the local
device, and the comparison built from the predictions. The Benchmark owns one CompareRun."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from .compare import CloudOptions, Comparison, build_comparison
from .energy_model import EnergyPrediction
from .local_device import LocalDevice, identify_local_device
from .measure import BatchRecorder, Clock
from .model import TimePrediction
from .site import Site, resolve_site
from .tables import load_gpus
from .workload_profile import StepProfiler, WorkloadProfile


class _StepRecorder(BatchRecorder):
    """Counts FLOPs from the delivery of the first batch until the loop asks for the next one:
    exactly one training step (forward, backward, optimizer), not what the epoch function does
    before or after its loop (a validation pass would otherwise be counted, slowly)."""

    def __init__(self, clock: Clock, profiler: StepProfiler) -> None:
        super().__init__(clock)
        self._profiler = profiler

    def wrap(self, batches: Iterator[Any], limit: int | None = None) -> Iterator[Any]:
        for batch in super().wrap(batches, 1):
            self._profiler.start()
            try:
                yield batch
            finally:
                self._profiler.stop()


class CompareRun:
    """``options`` None: no cloud comparison (local cost and CO2 are still computed)."""

    def __init__(self, options: CloudOptions | None, site: Site | None, *, clock: Clock) -> None:
        self.options, self._clock = options, clock
        # Resolved now, so that an unknown zone fails before the benchmark, not after it.
        self.site = resolve_site(site)
        self.profile: WorkloadProfile | None = None
        self.device: LocalDevice | None = None
        self.notes: list[str] = []
        self.extras_s: dict[str, float] = {}

    def profile_step(self, model: Any, one_batch_loader: Callable[[BatchRecorder], Any]
                     ) -> Iterator[Any]:
        """Yields one loader of one batch for an untimed epoch; the step on that batch is
        profiled (FLOPs counted, bytes estimated)."""
        if self.options is None:
            return
        if model is None:
            self.notes.append(
                "No torch.nn.Module in restore=..., so one training step could not be profiled: the "
                "cloud speed-ups use published ratios and the TFLOPS/bandwidth baseline only.")
            return
        profiler = StepProfiler(model, precision=self.options.precision, family=self.options.family)
        loader = one_batch_loader(_StepRecorder(self._clock, profiler))
        t0 = self._clock()
        try:
            yield loader
        finally:
            profiler.stop()  # the loop may have left before asking for a second batch
            self.extras_s["profiled step"] = self._clock() - t0
        if profiler.started:
            self.profile = profiler.result()
        else:
            self.notes.append("The profiled epoch drew no batch, so no training step was profiled: "
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

    def comparison(self, prediction: TimePrediction, energy: EnergyPrediction | None,
                   warnings: list[str]) -> Comparison:
        gpu_w = None
        if energy is not None:
            gpu_powers = [d.mean_power_w for d in energy.devices if d.kind == "gpu" and d.mean_power_w]
            gpu_w = sum(gpu_powers) / len(gpu_powers) if gpu_powers else None  # per GPU
        comparison = build_comparison(
            time_s=prediction.time_s, energy_kwh=energy.energy_kwh if energy else None,
            site=self.site, device=self.device, profile=self.profile, gpu_power_w=gpu_w,
            options=self.options, step_s=prediction.per_batch_s or None,
        )
        warnings += self.notes
        warnings += comparison.warnings
        return comparison
