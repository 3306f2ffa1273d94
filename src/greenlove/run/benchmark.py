"""The benchmark: time the user's own epoch on sampled loaders, then build the Report.

One implementation serves both API styles: :func:`estimate` drives a :class:`Benchmark`'s
iterator with the user's ``train_epoch``; users who keep their own loop iterate it themselves.
"""

from __future__ import annotations

import math
import time
import weakref
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

from torch.utils.data import DataLoader

from .._version import __version__
from ..compare.comparison import CloudOptions, check_clouds
from ..compare.site import Site, check_site
from ..errors import BenchmarkError
from ..measure.energy_options import EnergyOptions, check_energy
from ..measure.environment import describe_environment
from ..measure.timing import (
    BatchRecorder,
    Clock,
    EpochRecord,
    default_clock,
    elapsed_s,
    synchronize_devices,
    training_device_kind,
)
from ..model.time import (
    DRIFT_PER_NOISE,
    DRIFT_REL_ACCELERATOR,
    DRIFT_REL_CPU,
    WARMUP_UNCERTAINTY_REL,
    TimePrediction,
    drift_rel_for,
    predict_time,
)
from ..result.report import FitSummary, Measurements, Prediction, Report, RunPlan
from ..sample.loaders import LoaderSampler, SampledLoader, shutdown_workers
from ..sample.schedule import Schedule, describe_budget_rule
from . import options
from .compare import CompareRun
from .energy import EnergyRun
from .progress import ProgressDisplay, make_progress
from .restore import UserState


class Benchmark:
    """Iterate it to get one sampled loader per timed epoch; then call :meth:`report`.

        bench = greenlove.Benchmark(loader, epochs=100, restore=(model, optimizer))
        for sample_loader in bench:
            train_epoch(sample_loader)
        report = bench.report()

    Each loop body is one timed epoch (devices are synchronised at both edges); with the cloud
    comparison on (the default), the first training step of the first epoch runs under a FLOP
    counter (``clouds=False`` leaves it out). When the loop ends, is broken, or raises, the
    objects in ``restore``, the RNG states and the loader's generator are put back;
    ``with Benchmark(...) as bench:`` makes that immediate on any exit.
    """

    def __init__(
        self,
        loader: DataLoader,
        *,
        epochs: int,
        restore: Any = None,
        budget_s: float | None = None,
        sample_fraction: float | None = None,
        warmup_epochs: int | str = "auto",
        confidence: float = 0.95,
        seed: int = 0,
        progress: bool | ProgressDisplay = True,
        steps_per_epoch: int | None = None,
        energy: bool | EnergyOptions | None = None,
        site: Site | None = None,
        clouds: bool | CloudOptions | None = None,
        clock: Clock | None = None,
        synchronize: Callable[[], None] | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self._loader = options.check_loader(loader)
        self.epochs = options.check_epochs(epochs)
        self._restore = options.check_restore(restore)
        self._budget_s = options.check_budget_s(budget_s)
        self._sample_fraction = options.check_sample_fraction(sample_fraction)
        self._warmup_epochs = options.check_warmup_epochs(warmup_epochs)
        self._confidence = options.check_confidence(confidence)
        self._seed = options.check_seed(seed)
        self._sampler = LoaderSampler(loader, seed=self._seed,
                                      steps_per_epoch=options.check_steps_per_epoch(steps_per_epoch))
        self._clock = clock or default_clock()
        self._sync = synchronize or synchronize_devices
        self._progress = make_progress(progress)
        self._energy = check_energy(energy)
        self._compare = CompareRun(check_clouds(clouds), check_site(site), clock=self._clock)
        self._extras_s: dict[str, float] = {}   # untimed work beyond the epochs: idle baseline...
        self._energy_run = EnergyRun(self._energy, clock=self._clock, sleep=sleep or time.sleep)
        self._records: list[EpochRecord] = []
        self._schedule: Schedule | None = None
        self._state = "new"          # new -> running -> finished | interrupted
        self._wall_s = math.nan
        self._iteration: weakref.ref | None = None
        self._report: Report | None = None

    # -- running ---------------------------------------------------------------------------
    def __iter__(self) -> Iterator[DataLoader]:
        if self._state != "new":
            raise BenchmarkError("a Benchmark runs once; create a new one to benchmark again")
        self._state = "running"
        iteration = self._run()
        # A weak reference only: when the user's loop dies, the generator is collected and
        # closed at once, which restores their state.
        self._iteration = weakref.ref(iteration)
        return iteration

    def _run(self) -> Iterator[DataLoader]:
        clock, sync, progress = self._clock, self._sync, self._progress
        shape = self._sampler.shape
        start = clock()
        state = UserState.capture(self._restore, generators=[self._loader.generator])
        recorder = BatchRecorder(clock)
        loaders: dict[int, SampledLoader] = {}
        served: dict[int, int] = {}
        schedule = self._schedule = Schedule(
            full_batches=shape.full_batches, epochs=self.epochs, budget_s=self._budget_s,
            sample_fraction=self._sample_fraction, warmup_epochs=self._warmup_epochs,
            precision=self._precision,
        )
        completed = False
        energy = self._energy_run
        try:
            energy.start(start)
            progress.start()
            if energy.options is not None:
                progress.update(clock() - start, self._budget_s, "idle baseline (energy)")
                idle_s = energy.idle_baseline(self._budget_s)
                if idle_s > 0:
                    self._extras_s["idle baseline"] = idle_s
            if self._compare.options is not None:
                # Before the epochs, so that the budget plans with its real cost.
                progress.update(clock() - start, self._budget_s, "cloud comparison: this device")
                self._compare.identify_device()
                self._extras_s.update(self._compare.extras_s)
            while (step := schedule.next_step(self._records, self._elapsed_s(start))) is not None:
                if step.batches not in loaders:
                    loaders[step.batches], _ = self._sampler.loader_for(step.batches, recorder)
                loader = loaders[step.batches]
                progress.update(clock() - start, schedule.budget_s,
                                f"{step.phase}: {step.batches} of {shape.full_batches} batches")
                recorder.reset()
                # The cloud comparison profiles the first step of the first epoch (a warm-up
                # candidate anyway) instead of costing an epoch of its own.
                profiled = not self._records and self._compare.profile_first_step(
                    options.first_module(self._restore), recorder)
                sync()
                t0 = clock()
                recorder.mark_start(t0)
                yield loader
                sync()
                t1 = clock()
                self._compare.finish_profile()
                self._records.append(self._record(step.batches, loader, recorder, t0, t1, start,
                                                  served.get(step.batches, 0), profiled))
                served[step.batches] = served.get(step.batches, 0) + 1
            completed = True
        finally:
            self._state = "finished" if completed else "interrupted"
            try:
                self._compare.finish_profile()
                energy.stop()
                progress.stop()
                for sampled in loaders.values():
                    shutdown_workers(sampled)
            finally:
                state.apply()
                self._wall_s = clock() - start

    def _elapsed_s(self, start: float) -> float:
        """Budget time used so far: everything since the start, the idle baseline included."""
        return self._clock() - start

    def _record(self, batches: int, loader: SampledLoader, recorder: BatchRecorder, t0: float,
                t1: float, start: float, loader_epoch: int, profiled: bool) -> EpochRecord:
        epoch_s = elapsed_s(t0, t1)
        if recorder.count == 0:
            raise BenchmarkError(
                "train_epoch drew no batch from the loader it was given: it must iterate its "
                "loader argument (for batch in loader: ...), not a loader of its own"
            )
        if epoch_s <= 0:
            raise BenchmarkError("an epoch took 0 s on the clock: the clock is too coarse")
        first, steps, span = recorder.intervals()
        return EpochRecord(
            order=len(self._records), sample_batches=batches,
            sample_size=loader._greenlove_items, batches_drawn=recorder.count,
            epoch_s=epoch_s, started_s=t0 - start, loader_epoch=loader_epoch,
            first_batch_s=first, batch_s=steps, span_s=span, profiled=profiled,
        )

    def _precision(self, records: list[EpochRecord]) -> float:
        """Relative half-width of the estimated (not assumed) part of the prediction."""
        prediction = self._predict(records, drift_rel=0.0)
        parts = prediction.variance_parts_s2
        estimated = math.sqrt(parts["fit"] + parts["epoch_noise"])
        return 2 * estimated / prediction.time_s.point if prediction.time_s.point > 0 else math.inf

    def _predict(self, records: list[EpochRecord], drift_rel: float) -> TimePrediction:
        return predict_time(records, full_batches=self._sampler.shape.full_batches,
                            epochs=self.epochs, warmup_epochs=self._warmup_epochs,
                            confidence=self._confidence, drift_rel=drift_rel)

    def close(self) -> None:
        """Stop the benchmark now and restore the user's state (idempotent)."""
        iteration = self._iteration() if self._iteration is not None else None
        if iteration is not None:
            iteration.close()

    def __enter__(self) -> Benchmark:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- result ------------------------------------------------------------------------------
    def report(self) -> Report:
        """The Report of a finished benchmark (built once, then cached)."""
        if self._report is not None:
            return self._report
        if self._state == "new":
            raise BenchmarkError("iterate the Benchmark (one timed epoch per loader) before report()")
        if self._state == "running":
            raise BenchmarkError("the benchmark is still running: finish the loop before report()")
        if not self._records:
            raise BenchmarkError("the benchmark was stopped before any epoch was timed")
        self._report = self._build_report()
        return self._report

    def _build_report(self) -> Report:
        shape = self._sampler.shape
        schedule = self._schedule
        assert schedule is not None
        device_kind = training_device_kind(options.first_module(self._restore))
        drift_rel = drift_rel_for(device_kind)
        prediction = self._predict(self._records, drift_rel)
        warnings = list(prediction.warnings)
        budget_s = schedule.budget_s if schedule.budget_s is not None else self._wall_s
        if self._state == "interrupted":
            warnings.insert(0, "The benchmark loop was left early: the prediction uses only the "
                               f"{len(self._records)} epochs timed before that.")
        if schedule.whole_epochs:
            warnings.append(f"The data set has only {shape.full_batches} batches per epoch, too few "
                            "to sample: whole epochs were timed instead.")
        if schedule.over_budget or self._wall_s > 1.1 * budget_s:
            warnings.append(
                f"The benchmark took {self._wall_s:.1f} s, more than its {budget_s:.1f} s budget: "
                "that is the least it needs to time three sample sizes with this data."
            )
        drawn_less = [r for r in self._records if r.batches_drawn < r.sample_batches]
        if drawn_less:
            r = drawn_less[0]
            warnings.append(
                f"train_epoch stopped early: it drew {r.batches_drawn} of the {r.sample_batches} "
                "batches offered. greenlove assumes an epoch goes over the whole loader; if yours "
                "stops after a fixed number of steps, the prediction overstates the full run."
            )
        energy_measured, energy_predicted = self._energy_run.results(
            self._records, prediction, full_batches=shape.full_batches, epochs=self.epochs,
            confidence=self._confidence, drift_rel=drift_rel, warnings=warnings)
        comparison = self._compare.comparison(prediction, energy_predicted, warnings)
        fit = prediction.fit
        trend = prediction.trend
        return Report(
            plan=RunPlan(
                epochs=self.epochs, batches_per_epoch=shape.full_batches,
                dataset_size=shape.dataset_size, batch_size=shape.batch_size,
                loader_kind=shape.kind, num_workers=shape.num_workers,
                persistent_workers=shape.persistent_workers, size_source=shape.size_source,
            ),
            benchmark=Measurements(
                wall_s=self._wall_s, budget_s=budget_s,
                budget_automatic=schedule.budget_is_automatic,
                budget_rule=describe_budget_rule() if schedule.budget_is_automatic
                else "given by the user (budget_s)",
                stop_reason=schedule.stop_reason or ("left early" if self._state == "interrupted"
                                                     else "it finished"),
                seed=self._seed, warmup_epochs=self._warmup_epochs, confidence=self._confidence,
                epochs=tuple(self._records), roles=prediction.roles, energy=energy_measured,
                extras_s=dict(self._extras_s),
            ),
            prediction=Prediction(
                time_s=prediction.time_s, epoch_s=prediction.epoch_s,
                warmup_s=prediction.warmup_s,
                fit=FitSummary(
                    method=prediction.method,
                    intercept_s=prediction.fixed_s, per_batch_s=prediction.per_batch_s,
                    covariance=fit.covariance if prediction.split is None else (
                        (prediction.split.outside_var, 0.0), (0.0, prediction.split.per_batch_var)),
                    noise_rel=fit.noise_rel, dof=fit.dof,
                    line_intercept_s=fit.intercept_s, line_per_batch_s=fit.slope_s,
                    steady_epochs=fit.n, lack_of_fit_p=fit.lack_of_fit_p,
                    trend_rel_per_s=trend.slope_rel_per_s if trend else None,
                    trend_p=trend.p_value if trend else None,
                    variance_parts_s2=prediction.variance_parts_s2,
                    autocorrelation_inflation=prediction.autocorrelation_inflation,
                ),
                energy=energy_predicted,
                cost_usd=comparison.cost_usd,
                co2_kg=comparison.co2_kg,
            ),
            assumptions={**_assumptions(device_kind), **self._energy_run.assumptions(),
                         **comparison.assumptions},
            warnings=tuple(warnings),
            environment=describe_environment(),
            created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            greenlove_version=__version__,
            clouds=tuple(comparison.section.pop("offers", ())),
            comparison=comparison.section,
        )




def _assumptions(device_kind: str) -> dict[str, dict[str, Any]]:
    on_cpu = device_kind == "cpu"
    return {
        "drift_rel": {
            "value": drift_rel_for(device_kind), "unit": "fraction (1 sd)",
            "source": (
                "greenlove assumption for training on a CPU, from its accuracy benchmark on "
                "shared 2-core VMs (2026-11-27): over 21 benchmark-then-run pairs, predictions "
                "from a few seconds of benchmark missed the run after it by 12.2% rms (6.5% in "
                "the quietest hour, 16.3% in the busiest); `greenlove validate --repeat 2` shows "
                "how far two runs differ on your machine" if on_cpu else
                f"greenlove assumption for training on an accelerator ({DRIFT_REL_ACCELERATOR:g}; "
                f"{DRIFT_REL_CPU:g} on a CPU): not yet measured, no GPU was lent to the accuracy "
                "benchmark"),
        },
        "drift_per_noise": {
            "value": DRIFT_PER_NOISE, "unit": "fraction of the epoch-to-epoch noise",
            "source": "greenlove assumption: the run drifts by at least half the epoch-to-epoch "
                      "noise seen in the benchmark (one contention drives both)",
        },
        "warmup_uncertainty_rel": {
            "value": WARMUP_UNCERTAINTY_REL, "unit": "fraction (1 sd)",
            "source": "greenlove assumption: a one-off warm-up is observed once",
        },
        "epoch_time_model": {
            "value": "epoch_s = intercept_s + per_batch_s * batches", "unit": "s",
            "source": "greenlove method (README, 'How it works')",
        },
    }


def estimate(
    train_epoch: Callable[[DataLoader], Any],
    loader: DataLoader,
    *,
    epochs: int,
    restore: Any = None,
    budget_s: float | None = None,
    sample_fraction: float | None = None,
    warmup_epochs: int | str = "auto",
    confidence: float = 0.95,
    seed: int = 0,
    progress: bool | ProgressDisplay = True,
    steps_per_epoch: int | None = None,
    energy: bool | EnergyOptions | None = None,
    site: Site | None = None,
    clouds: bool | CloudOptions | None = None,
    clock: Clock | None = None,
    synchronize: Callable[[], None] | None = None,
    sleep: Callable[[float], None] | None = None,
) -> Report:
    """Predict what ``epochs`` epochs of ``train_epoch(loader)`` will take.

    ``train_epoch(loader)`` is called on small seeded random samples of ``loader``'s data for a
    few epochs within ``budget_s`` wall seconds (None: automatic, see README); ``restore`` (the
    model, optimizer, ...) and every RNG state are put back afterwards, also on error or Ctrl-C.
    """
    options.check_train_epoch(train_epoch)
    bench = Benchmark(
        loader, epochs=epochs, restore=restore, budget_s=budget_s,
        sample_fraction=sample_fraction, warmup_epochs=warmup_epochs, confidence=confidence,
        seed=seed, progress=progress, steps_per_epoch=steps_per_epoch, energy=energy, site=site,
        clouds=clouds, clock=clock, synchronize=synchronize, sleep=sleep,
    )
    iteration = iter(bench)
    try:
        for sample_loader in iteration:
            train_epoch(sample_loader)
    finally:
        iteration.close()  # restores the user's state on any exit, exceptions included
    return bench.report()
