"""The harness: time the user's own epoch on sampled loaders, then hand the records on.

One implementation serves both API styles: :func:`estimate` drives a :class:`Benchmark`'s
iterator with the user's ``train_epoch``; users who keep their own loop iterate it themselves.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
import weakref
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from torch.utils.data import DataLoader

from ..errors import BenchmarkError, GreenloveWarning
from ..measure import BatchRecorder, EpochRecord, elapsed_s
from ..measure.compile_watch import (
    NONE_SEEN,
    SETTLING_EXTRA,
    CompileActivity,
    activity,
    read_compile_state,
    settle_workers,
)
from ..measure.load import LoadWatch
from ..model import TimePrediction, predict_time
from ..report import Report
from ..sample import LoaderSampler, SampledLoader, Schedule, shutdown_workers
from .assemble import Outcome, assemble_report
from .compare import CompareRun
from .energy import EnergyRun
from .job import BenchmarkJob
from .options import check_loader, check_options, check_train_epoch
from .progress import NoProgress
from .restore import UserState, restore_warnings

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .options import Options


class Benchmark:
    """Iterate it to get one sampled loader per timed epoch; then call :meth:`report`.

        bench = greenlove.Benchmark(loader, epochs=100, restore=(model, optimizer))
        for sample_loader in bench:
            train_epoch(sample_loader)
        report = bench.report()

    The keyword options are those of :func:`greenlove.estimate` (:class:`~.options.Options`).
    Each loop body is one timed epoch (devices are synchronised at both edges); with the cloud
    comparison on (the default), the first training step of the first epoch runs under a FLOP
    counter (``clouds=False`` leaves it out). When the loop ends, is broken, or raises, the
    objects in ``restore``, the RNG states and the loader's generator are put back;
    ``with Benchmark(...) as bench:`` makes that immediate on any exit.

    Inside a ``torch.distributed`` job (torchrun), every rank creates its Benchmark with the
    same arguments, runs the same loop and calls :meth:`report` (see :mod:`.job`): rank 0
    decides the sample sizes and when to stop, each rank samples its own DistributedSampler
    shard, and every rank gets the same Report; only rank 0 shows progress and writes files.
    """

    def __init__(self, loader: DataLoader, **options: Unpack[Options]) -> None:
        self._loader = check_loader(loader)
        settings = check_options(options)
        self._sampler = LoaderSampler(loader, seed=settings.seed,
                                      steps_per_epoch=settings.steps_per_epoch)
        self._job = BenchmarkJob.open()
        try:
            self._job.agree(settings, self._sampler.shape)
        except BaseException:
            self._job.close()
            raise
        if not self._job.world.is_writer:   # rank 0 alone shows progress
            settings = dataclasses.replace(settings, progress=NoProgress())
        self.settings = settings
        if self._job.world.is_writer:
            for sentence in restore_warnings(settings.restore):
                warnings.warn(sentence, GreenloveWarning, stacklevel=2)
        self._schedule = Schedule(
            full_batches=self._sampler.shape.full_batches, epochs=settings.epochs,
            budget=settings.budget, sample_fraction=settings.sample_fraction,
            warmup_epochs=settings.warmup_epochs, precision=self._precision,
        )
        clock = settings.instruments.clock
        self._compare = CompareRun(settings.clouds, settings.site, clock=clock,
                                   world=self._job.world)
        self._energy = EnergyRun(settings.energy, settings.instruments, world=self._job.world)
        self._extras_s: dict[str, float] = {}   # untimed work beyond the epochs: idle baseline...
        self._load = LoadWatch(settings.instruments.cpu_snapshot)
        self._records: list[EpochRecord] = []
        self._compile_reasons: list[str] = []
        self._compile_backend_s = 0.0       # of the compiling, what a compile-cache hit skips
        self._compile_cache_writes = 0      # graphs the compiling wrote to torch's caches
        self._state = "new"          # new -> running -> finished | interrupted
        self._wall_s = math.nan
        self._iteration: weakref.ref | None = None
        self._report: Report | None = None

    @property
    def epochs(self) -> int:
        """Epochs of the full run being predicted."""
        return self.settings.epochs

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
        settings = self.settings
        clock, sync, progress = (settings.instruments.clock, settings.instruments.synchronize,
                                 settings.progress)
        schedule, shape, job = self._schedule, self._sampler.shape, self._job
        writer = job.world.is_writer
        job.ranks.barrier("the start of the benchmark")
        start = clock()
        state = UserState.capture(settings.restore, generators=[self._loader.generator])
        recorder = BatchRecorder(clock)
        loaders: dict[int, tuple[SampledLoader, int]] = {}   # batches -> (loader, items)
        served: dict[int, int] = {}
        completed = False
        user_error: BaseException | None = None
        energy = self._energy
        load = self._load
        try:
            load.start()
            energy.start(start)
            progress.start()
            if energy.options is not None:
                progress.update(clock() - start, schedule.budget.value_s, "idle baseline (energy)")
                idle_s = energy.idle_baseline(schedule.budget)
                if idle_s > 0:
                    self._extras_s["idle baseline"] = idle_s
            if self._compare.options is not None and writer:
                # Before the epochs, so that the budget plans with its real cost.
                progress.update(clock() - start, schedule.budget.value_s,
                                "cloud comparison: this device")
                self._compare.identify_device()
                self._extras_s.update(self._compare.extras_s)
            # torch.compile's compiling is a one-off of its own: not charged to the budget.
            while (step := job.next_step(
                    lambda: schedule.next_step(self._records,
                                               clock() - start - self._compiling_s()),
                    len(self._records))) is not None:
                if step.batches not in loaders:
                    loaders[step.batches] = self._sampler.loader_for(step.batches, recorder)
                loader, items = loaders[step.batches]
                progress.update(clock() - start, schedule.budget.value_s,
                                f"{step.phase}: {step.batches} of {shape.full_batches} batches")
                recorder.reset()
                # The cloud comparison profiles the first step of the first epoch (a warm-up
                # candidate anyway) instead of costing an epoch of its own.
                profiled = not self._records and writer and self._compare.profile_first_step(
                    settings.model, recorder)
                sync()
                job.start_edge(len(self._records))
                compiler_before = read_compile_state()
                t0 = clock()
                recorder.mark_start(t0)
                yield loader
                sync()
                t1 = clock()
                compiled = activity(compiler_before, read_compile_state())
                if compiled.any:
                    # Its worker processes may still be starting: not on the next epoch's time.
                    settled = settle_workers(clock=clock, sleep=settings.instruments.sleep)
                    if settled > 0:
                        self._extras_s[SETTLING_EXTRA] = self._extras_s.get(SETTLING_EXTRA, 0.0) + settled
                self._compare.finish_profile()
                try:
                    local: EpochRecord | BenchmarkError = self._record(
                        step.batches, items, recorder, t0, t1, start,
                        served.get(step.batches, 0), profiled, compiled)
                except BenchmarkError as error:
                    local = error
                self._records.append(job.shared_record(len(self._records), local))
                self._compile_reasons += [r for r in compiled.reasons
                                          if r not in self._compile_reasons]
                self._compile_backend_s += compiled.backend_s
                self._compile_cache_writes += compiled.cache_writes
                served[step.batches] = served.get(step.batches, 0) + 1
            completed = True
        except BaseException as error:
            if not isinstance(error, GeneratorExit):   # the user's own error (or Ctrl-C)
                user_error = error
                job.close()   # no report follows: the ranks' process group goes now
            raise
        finally:
            self._state = "finished" if completed else "interrupted"
            try:
                load.stop()
                self._compare.finish_profile()
                energy.stop()
                progress.stop()
                for sampled, _ in loaders.values():
                    shutdown_workers(sampled)
            finally:
                restore_error = state.apply_all()
                self._wall_s = clock() - start
                if restore_error is not None:
                    _restore_failed(restore_error, user_error)

    def _compiling_s(self) -> float:
        """torch.compile's share of the benchmark so far: compiling inside the timed epochs and
        the untimed wait for its worker processes after."""
        return sum(r.compile_s for r in self._records) + self._extras_s.get(SETTLING_EXTRA, 0.0)

    def _record(self, batches: int, items: int, recorder: BatchRecorder, t0: float,
                t1: float, start: float, loader_epoch: int, profiled: bool,
                compiled: CompileActivity = NONE_SEEN) -> EpochRecord:
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
            order=len(self._records), sample_batches=batches, sample_size=items,
            batches_drawn=recorder.count, epoch_s=epoch_s, started_s=t0 - start,
            loader_epoch=loader_epoch, first_batch_s=first, batch_s=steps, span_s=span,
            profiled=profiled, compile_s=min(compiled.compile_s, epoch_s),
            recompiles=compiled.recompiles,
        )

    def _precision(self, records: list[EpochRecord]) -> float:
        """Relative half-width of the estimated (not assumed) part of the prediction."""
        prediction = self._predict(records, drift_rel=0.0)
        parts = prediction.variance_parts_s2
        estimated = math.sqrt(parts["fit"] + parts["epoch_noise"])
        return 2 * estimated / prediction.time_s.point if prediction.time_s.point > 0 else math.inf

    def _predict(self, records: list[EpochRecord], drift_rel: float) -> TimePrediction:
        settings = self.settings
        return predict_time(records, full_batches=self._sampler.shape.full_batches,
                            epochs=settings.epochs, warmup_epochs=settings.warmup_epochs,
                            confidence=settings.confidence, drift_rel=drift_rel)

    def close(self) -> None:
        """Stop the benchmark now and restore the user's state (idempotent)."""
        iteration = self._iteration() if self._iteration is not None else None
        if iteration is not None:
            iteration.close()

    def __enter__(self) -> Benchmark:
        return self

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        try:
            self.close()
        except Exception as restore_error:
            if exc is None:
                raise
            _restore_failed(restore_error, exc)   # the user's error goes on, first

    # -- result ------------------------------------------------------------------------------
    def report(self) -> Report:
        """The Report of a finished benchmark (built once, then cached)."""
        if self._report is not None:
            return self._report
        if self._state == "new":
            raise BenchmarkError("iterate the Benchmark (one timed epoch per loader) before report()")
        if self._state == "running":
            # The loop was left with the iterator still held: end it now (restoring the
            # user's state and stopping the sampler) and report what was timed.
            self.close()
            if self._state == "running":
                raise BenchmarkError("the benchmark is still running: finish the loop, or call "
                                     "bench.close(), before report()")
        if not self._records:
            self._job.close()
            raise BenchmarkError("the benchmark was stopped before any epoch was timed")
        try:
            self._energy.gather_ranks(self._job.ranks)
            job_cpu_s = self._job.node_cpu_s(self._load.own_s())
            self._report = self._job.share_report(lambda: assemble_report(Outcome(
                settings=self.settings, shape=self._sampler.shape, schedule=self._schedule,
                records=tuple(self._records), wall_s=self._wall_s,
                interrupted=self._state == "interrupted", extras_s=dict(self._extras_s),
                load=self._load.load(also_own_s=job_cpu_s),
                compile_reasons=tuple(self._compile_reasons),
                compile_source=read_compile_state().source,
                compile_backend_s=self._compile_backend_s,
                compile_cache_writes=self._compile_cache_writes,
            ), predict=self._predict, energy=self._energy, compare=self._compare))
        finally:
            self._job.close()
        return self._report


def _restore_failed(restore_error: Exception, user_error: BaseException | None) -> None:
    """A failed restore: raised when the loop itself went well; beside the user's own error
    (which comes first) otherwise, as a note on it and a warning."""
    if user_error is None:
        raise restore_error
    message = (f"greenlove could not put your state back after the benchmark "
               f"({type(restore_error).__name__}: {restore_error}); the error above is yours")
    if hasattr(user_error, "add_note"):
        user_error.add_note(message)
    warnings.warn(message, GreenloveWarning, stacklevel=3)


def estimate(train_epoch: Callable[[DataLoader], Any], loader: DataLoader,
             **options: Unpack[Options]) -> Report:
    """Predict what ``epochs`` epochs of ``train_epoch(loader)`` will take.

    ``train_epoch(loader)`` is called on small seeded random samples of ``loader``'s data for a
    few epochs within ``budget_s`` wall seconds (None: automatic, see README); ``restore`` (the
    model, optimizer, ...) and every RNG state are put back afterwards, also on error or Ctrl-C.
    The keyword options (``epochs`` required) are listed in :class:`~.options.Options`.
    """
    check_train_epoch(train_epoch)
    bench = Benchmark(loader, **options)
    iteration = iter(bench)
    try:
        for sample_loader in iteration:
            train_epoch(sample_loader)
    except BaseException as error:
        try:
            iteration.close()  # restores the user's state on any exit, exceptions included
        except Exception as restore_error:
            _restore_failed(restore_error, error)
        raise
    iteration.close()
    return bench.report()
