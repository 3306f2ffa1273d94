"""``greenlove.lightning.GreenloveCallback``: a PyTorch Lightning fit tracked by the one tracker
(:class:`~.common.FitSession`), or, with ``dry_run=True``, predicted from its own first steps.

Hooks -> tracker:

* ``on_fit_start``: the fit's length from the trainer (``max_epochs``, the training batches per
  epoch, ``max_steps`` turned into batches; see :mod:`.lightning_schedule`), the validation
  passes and, where they can be told, the checkpoint saves it will make; tracking starts (for
  a dry run, the model, optimizers, LR schedulers and RNG states are captured here, after the
  optimizers exist).
* ``on_train_batch_end``: one step (a batch). ``on_train_epoch_end``: the epoch ends (an epoch
  cut short by a stop is left open: it is not a whole epoch).
* ``on_sanity_check_start/end``: an extra of kind "sanity check" (once per fit; not a
  validation pass). ``on_validation_start/end`` outside the sanity check: "validation".
* ``on_save_checkpoint`` (called while the checkpoint's dict is built, before it is written):
  a "checkpoint" extra begins; Lightning has no hook after the write, so it ends at the next
  hook the callback sees (the next batch's start, the epoch's start or end, a validation's
  start, the training's or the fit's end). It holds the write and what the loop does until
  that hook.
* ``on_fit_end`` (and ``teardown``, ``on_exception``): tracking ends, the JSON and HTML are
  written by global rank 0; a dry run puts the user's state back.

The forecast goes to the trainer's loggers (``logger.log_metrics``, keys ``greenlove/...``)
when the tracker has made a new one and at least ``log_every_n_steps`` batches have passed;
a stop (limits with ``on_limit="stop"``, or the dry run's rule) sets ``trainer.should_stop``.
"""

from __future__ import annotations

import warnings
from typing import Any

try:
    import lightning.pytorch as pl
    from lightning.pytorch.callbacks import ModelCheckpoint
except ImportError as error:     # the optional extra is missing
    raise ImportError("greenlove.lightning needs PyTorch Lightning: pip install "
                      "greenlove[lightning]") from error

from ..errors import GreenloveWarning
from ..run import Run
from ..run.restore import RngState
from .common import CallbackOptions, FitSession
from .lightning_schedule import (
    CheckpointRule,
    FitLength,
    checkpoint_saves,
    fit_length,
    validation_passes,
)

SANITY = "sanity check"
VALIDATION = "validation"
CHECKPOINT = "checkpoint"


class GreenloveCallback(pl.Callback):
    """Track a Lightning fit: ``Trainer(callbacks=[GreenloveCallback(report)])``.

    Arguments as for ``greenlove.track`` (``report``, ``limits``, ``on_limit``, ``out``,
    ``history``, ``progress``, ``site``, ``energy``, ``name``), and ``dry_run=True``: run the
    fit only until its forecast is tight (or ``budget_s`` is spent), stop it, put the model,
    optimizers, LR schedulers and RNG states back, and leave the prediction of the whole fit in
    ``callback.report`` (pass it as ``report=`` to the real fit's callback, with a fresh
    Trainer). ``log_every_n_steps``: the fewest batches between two forecasts sent to the
    loggers (None: the trainer's ``log_every_n_steps``). After the fit ``callback.report`` is
    the tracked run's Report (with ``check`` against a pre-flight report).
    """

    def __init__(self, report: Any = None, *, limits: Any = None, on_limit: str = "warn",
                 out: Any = None, history: Any = True, progress: Any = True, site: Any = None,
                 energy: Any = True, name: Any = None, dry_run: Any = False,
                 budget_s: Any = None, log_every_n_steps: int | None = None) -> None:
        self.options = CallbackOptions.check(
            report=report, limits=limits, on_limit=on_limit, out=out, history=history,
            progress=progress, site=site, energy=energy, name=name, dry_run=dry_run,
            budget_s=budget_s)
        if log_every_n_steps is not None and (isinstance(log_every_n_steps, bool) or not
                                              isinstance(log_every_n_steps, int)
                                              or log_every_n_steps < 1):
            raise ValueError(f"log_every_n_steps must be an int >= 1 or None (the trainer's), "
                             f"got {log_every_n_steps!r}")
        self.log_every_n_steps = log_every_n_steps
        self.report: Any = None
        self._session: FitSession | None = None
        self._run: Run | None = None
        self._length: FitLength | None = None
        self._rng: RngState | None = None
        self._open: str | None = None          # the extra this callback has open
        self._batches = 0                      # batches of the fit so far
        self._epoch_batches = 0                # ... of the epoch in progress
        self._log_every = 1
        self._logged: Any = None               # the last forecast sent to the loggers
        self._logged_at = 0
        self._collective = False               # several processes: stop decisions agreed

    # -- start ----------------------------------------------------------------------------
    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._reset()
        # Before the training data is set up: building its iterator draws from the RNG.
        self._rng = RngState.capture() if self.options.dry_run else None
        length = self._fit_length(trainer)
        if length is None:
            warnings.warn("GreenloveCallback: this fit trains no batch; it is not tracked.",
                          GreenloveWarning, stacklevel=2)
            return
        expected = self._expected_extras(trainer, length)
        session = FitSession(self.options)
        restore = [pl_module, *trainer.optimizers,
                   *(config.scheduler for config in trainer.lr_scheduler_configs)]
        self._run = session.start(
            epochs=length.epochs, steps_per_epoch=length.steps_per_epoch,
            max_steps=length.max_steps, expected_extras=expected,
            writer=trainer.is_global_zero, restore=restore)
        self._session, self._length = session, length
        self._log_every = self.log_every_n_steps or max(int(trainer.log_every_n_steps), 1)
        self._collective = trainer.world_size > 1

    def _reset(self) -> None:
        self.report = None
        self._session = self._run = self._length = self._rng = None
        self._open = self._logged = None
        self._batches = self._epoch_batches = self._logged_at = 0

    @staticmethod
    def _fit_length(trainer: pl.Trainer) -> FitLength | None:
        if trainer.max_epochs == -1 and trainer.max_steps == -1:
            return fit_length(max_epochs=-1, max_steps=-1, batches_per_epoch=None)
        if trainer.limit_train_batches == 0:
            return None          # Lightning trains nothing (and sets no length)
        # The training data set up now rather than after the sanity check (the loop then
        # reuses it, as it does for estimated_stepping_batches): the trainer then knows the
        # batches of an epoch and the validation schedule.
        trainer.fit_loop.setup_data()
        return fit_length(max_epochs=trainer.max_epochs, max_steps=trainer.max_steps,
                          batches_per_epoch=trainer.num_training_batches,
                          accumulate_grad_batches=trainer.accumulate_grad_batches)

    @staticmethod
    def _expected_extras(trainer: pl.Trainer, length: FitLength) -> dict[str, int]:
        expected: dict[str, int] = {}
        enabled = bool(trainer.enable_validation)
        interval = trainer.val_check_interval
        batch_based = isinstance(interval, (int, float)) and not isinstance(interval, bool)
        val = validation_passes(
            length, enabled=enabled, check_val_every_n_epoch=trainer.check_val_every_n_epoch,
            val_check_batch=trainer.val_check_batch if batch_based else None)
        if val is not None:
            expected[VALIDATION] = sum(val)
        rules = _checkpoint_rules(trainer, enabled)
        if trainer.fast_dev_run:
            rules = None
        saves = checkpoint_saves(length, rules, val)
        if saves is not None:
            expected[CHECKPOINT] = saves
        return expected

    # -- the fit --------------------------------------------------------------------------
    def on_sanity_check_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._run is not None:
            self._run.expect_extra(SANITY, 1)     # once (skipped when resuming a checkpoint)
        self._begin(SANITY)

    def on_sanity_check_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._end(SANITY)

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._end(CHECKPOINT)
        # A stop settled at the last epoch's end (its save's end, say) is honoured before this
        # epoch's first batch: Lightning then runs no batch of it.
        self._stop_if_asked(trainer, self._run)
        self._epoch_batches = 0

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                             batch: Any, batch_idx: int) -> None:
        if self._open is not None:
            self._end(CHECKPOINT)

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                           outputs: Any, batch: Any, batch_idx: int) -> None:
        run = self._run
        if run is None:
            return
        run.step_end()
        self._batches += 1
        self._epoch_batches += 1
        if self._batches - self._logged_at >= self._log_every \
                and run.latest_forecast is not self._logged:
            self._log(trainer, run)
        if self._collective:
            if self._batches % self._log_every == 0:    # the same batch in every process
                self._stop_if_asked(trainer, run)
        elif run.should_stop and not trainer.should_stop:
            trainer.should_stop = True

    def on_validation_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.sanity_checking:
            self._begin(VALIDATION)

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.sanity_checking and self._end(VALIDATION):
            self._stop_if_asked(trainer, self._run)

    def on_save_checkpoint(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                           checkpoint: dict[str, Any]) -> None:
        self._begin(CHECKPOINT)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        run, length = self._run, self._length
        if run is None or length is None:
            return
        self._end(CHECKPOINT)
        epoch = trainer.current_epoch
        # An epoch a stop cut short is not a whole epoch: left open, its steps still count.
        if self._epoch_batches >= length.batches_in_epoch(epoch) > 0:
            run.epoch_end()
        if run.latest_forecast is not self._logged:
            self._log(trainer, run)
        self._stop_if_asked(trainer, run)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        run = self._run
        if run is None:
            return
        self._end(CHECKPOINT)
        if run.latest_forecast is not self._logged:
            self._log(trainer, run)      # the loggers are still open here, not at on_fit_end

    # -- the end --------------------------------------------------------------------------
    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._finish(None)

    def teardown(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if stage == "fit":
            self._finish(None)

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                     exception: BaseException) -> None:
        said = str(exception)
        self._finish(f"exception: {type(exception).__name__}" + (f": {said}" if said else ""))

    def _finish(self, reason: str | None) -> None:
        session = self._session
        if session is None:
            return
        self._session = None
        self._end(CHECKPOINT)
        self._end(VALIDATION)
        self.report = session.end(reason)
        if self._rng is not None:
            try:
                self._rng.apply()
            except Exception as error:   # said, never raised into the trainer
                warnings.warn(f"greenlove could not put the RNG states back after the dry run "
                              f"({type(error).__name__}: {error})", GreenloveWarning,
                              stacklevel=2)
        self._run = None

    # -- inside ---------------------------------------------------------------------------
    def _begin(self, kind: str) -> None:
        run = self._run
        if run is None:
            return
        run.extra_begin(kind)          # an extra still open ends here first
        self._open = kind

    def _end(self, kind: str) -> bool:
        """End the open extra if it is of ``kind``; True if it was."""
        if self._open != kind or self._run is None:
            return False
        self._run.extra_end()
        self._open = None
        return True

    def _stop_if_asked(self, trainer: pl.Trainer, run: Run | None) -> None:
        if run is None:
            return
        stop = run.should_stop
        if self._collective:
            # Every process has its own tracker: stop where any asks, all at the same point.
            stop = trainer.strategy.reduce_boolean_decision(stop, all=False)
        if stop and not trainer.should_stop:
            trainer.should_stop = True

    def _log(self, trainer: pl.Trainer, run: Run) -> None:
        forecast = run.latest_forecast
        self._logged, self._logged_at = forecast, self._batches
        if forecast is None or not trainer.is_global_zero or not trainer.loggers:
            return
        try:
            metrics = run.metrics(forecast)
            for logger in trainer.loggers:
                logger.log_metrics(metrics, step=trainer.global_step)
        except Exception as error:   # a logger's failure is not the fit's
            warnings.warn(f"greenlove could not log the forecast ({type(error).__name__}: "
                          f"{error}); the fit goes on", GreenloveWarning, stacklevel=2)


def _checkpoint_rules(trainer: pl.Trainer, validation: bool) -> list[CheckpointRule] | None:
    """The ModelCheckpoints' save rules where every one of them can be told in advance, else
    None (their saves are then forecast from the rate seen). Their schedule lives in
    attributes ModelCheckpoint keeps private; a Lightning without them gives None."""
    rules = []
    interval = trainer.val_check_interval
    for callback in trainer.checkpoint_callbacks:
        if not isinstance(callback, ModelCheckpoint):
            return None
        every_epochs = getattr(callback, "_every_n_epochs", None)
        every_steps = getattr(callback, "_every_n_train_steps", None)
        timed = getattr(callback, "_train_time_interval", "unknown")
        at_epoch_end = getattr(callback, "_save_on_train_epoch_end", "unknown")
        if callback.monitor is not None or callback.save_top_k == 0 or callback.save_last \
                or every_steps != 0 or timed is not None \
                or not isinstance(every_epochs, int) or every_epochs < 1 \
                or at_epoch_end not in (None, True, False):
            return None
        if at_epoch_end is None:      # ModelCheckpoint's own default, in its terms
            if not isinstance(interval, (int, float)) or trainer.check_val_every_n_epoch != 1:
                at_epoch_end = False
            else:
                at_epoch_end = not validation or interval == 1.0
        if not at_epoch_end and trainer.accumulate_grad_batches != 1:
            return None
        rules.append(CheckpointRule(every_epochs, bool(at_epoch_end)))
    return rules


__all__ = ["GreenloveCallback"]
