"""The Hugging Face Trainer adapter (``greenlove.hf.GreenloveCallback``): the Trainer's hooks
translated into the one tracker's calls (:class:`~.common.FitSession`).

    hook (transformers >= 4.40)      the tracker
    on_train_begin                   start: epochs, optimizer steps per epoch, max_steps, the
                                     evaluations and checkpoints the schedule has
    on_step_end (optimizer step)     step_end(); then, where DefaultFlowCallback (which runs
                                     before user callbacks) asked for it, the evaluation or
                                     checkpoint that follows begins
    on_evaluate / on_save            that extra ends (a save after an evaluation begins there)
    on_epoch_end                     epoch_end() (not for a loader without a length)
    on_log                           the forecast's keys added to ``logs``
    on_train_end                     close: the JSON and HTML written, the Report kept

The Trainer has no hook for an exception inside ``train()``: a run that raises is closed when
the process exits (an ``atexit`` hook, naming the uncaught exception), or by
``callback.close()``; the partial JSON written every minute stays meanwhile.
"""

from __future__ import annotations

import atexit
import math
import sys
import warnings
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

try:
    from transformers import TrainerCallback
except ImportError as error:  # the optional extra
    raise ImportError("greenlove.hf needs transformers (and accelerate): "
                      "pip install greenlove[hf]") from error

from ..errors import GreenloveWarning
from .common import CallbackOptions, FitSession

EVALUATION = "evaluation"
CHECKPOINT = "checkpoint"


@dataclass(frozen=True)
class TrainerPlan:
    """What the Trainer will do, as the tracker counts it: optimizer steps, epochs, extras."""

    epochs: int
    steps_per_epoch: int
    max_steps: int
    by_epoch: bool                      # False: a loader without a length, counted in steps
    expected_extras: Mapping[str, int]  # kinds whose number the schedule gives


def _strategy(value: Any) -> str:
    """An IntervalStrategy / SaveStrategy (or its string) as its plain value."""
    return str(getattr(value, "value", value))


def _loader_length(loader: Any) -> int | None:
    try:
        length = len(loader)
    except (TypeError, NotImplementedError):
        return None
    return length if isinstance(length, int) and length > 0 else None


def trainer_plan(args: Any, state: Any, train_dataloader: Any = None) -> TrainerPlan:
    """The plan from ``TrainingArguments`` and the ``TrainerState`` at ``on_train_begin``.

    A step is an optimizer step (``gradient_accumulation_steps`` batches). ValueError, saying
    what to pass, where the Trainer gives no length the run can be counted against."""
    max_steps = getattr(state, "max_steps", None)
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1:
        raise ValueError(
            f"greenlove cannot tell how long this training is: the Trainer's state.max_steps is "
            f"{max_steps!r} at on_train_begin. Pass TrainingArguments(max_steps=N) (a dataset "
            "without a length gives no number of steps), or a dataset with a length.")
    accumulation = max(int(getattr(args, "gradient_accumulation_steps", 1) or 1), 1)
    batches = _loader_length(train_dataloader)
    planned_epochs = getattr(state, "num_train_epochs", None)
    finite_epochs = isinstance(planned_epochs, (int, float)) and not isinstance(
        planned_epochs, bool) and 0 < planned_epochs < sys.maxsize
    if batches is not None:
        steps_per_epoch = max(math.ceil(batches / accumulation), 1)
        epochs = math.ceil(max_steps / steps_per_epoch)
        if finite_epochs:
            epochs = min(max(math.ceil(planned_epochs), 1), epochs)
        by_epoch = True
    elif finite_epochs and train_dataloader is None:
        # No loader handed to the hooks (a custom loop): the state's own plan.
        epochs = max(math.ceil(planned_epochs), 1)
        steps_per_epoch = math.ceil(max_steps / epochs)
        by_epoch = True
    else:
        # A loader without a length: the Trainer runs max_steps steps over as many passes as
        # it takes; greenlove counts the steps and leaves the passes out.
        epochs, steps_per_epoch, by_epoch = 1, max_steps, False
    return TrainerPlan(epochs=epochs, steps_per_epoch=steps_per_epoch, max_steps=max_steps,
                       by_epoch=by_epoch,
                       expected_extras=_expected_extras(args, state, epochs=epochs,
                                                        steps_per_epoch=steps_per_epoch,
                                                        max_steps=max_steps,
                                                        by_epoch=by_epoch))


def _expected_extras(args: Any, state: Any, *, epochs: int, steps_per_epoch: int,
                     max_steps: int, by_epoch: bool) -> dict[str, int]:
    """How many evaluations and checkpoint saves DefaultFlowCallback's rules give the run;
    a kind whose number the schedule cannot give (``save_strategy="best"``, epochs of a loader
    without a length) is left out, and the forecast uses its rate per step instead."""
    expected: dict[str, int] = {}
    delay = float(getattr(args, "eval_delay", 0) or 0)
    evaluation = _strategy(getattr(args, "eval_strategy", "no"))
    evaluations: int | None = None
    if evaluation == "no":
        evaluations = 0
    elif evaluation == "steps":
        every = getattr(state, "eval_steps", None) or getattr(args, "eval_steps", None)
        if isinstance(every, int) and every >= 1:
            first = max(math.ceil(delay / every), 1)         # the first multiple past the delay
            evaluations = max(max_steps // every - first + 1, 0)
            if max_steps % every and delay <= max_steps:     # the last step's evaluation
                evaluations += 1
    elif evaluation == "epoch" and by_epoch:
        evaluations = sum(1 for e in range(epochs)
                          if delay <= min(e + 1, max_steps / steps_per_epoch))
    if evaluations is not None:
        expected[EVALUATION] = evaluations + (1 if getattr(args, "eval_on_start", False) else 0)
    save = _strategy(getattr(args, "save_strategy", "no"))
    if save == "no":
        expected[CHECKPOINT] = 0
    elif save == "steps":
        every = getattr(state, "save_steps", None) or getattr(args, "save_steps", None)
        if isinstance(every, int) and every >= 1:
            # every multiple, and the last step (DefaultFlowCallback saves there too)
            expected[CHECKPOINT] = max_steps // every + (1 if max_steps % every else 0)
    elif save == "epoch" and by_epoch:
        expected[CHECKPOINT] = epochs
    return expected


class GreenloveCallback(TrainerCallback):
    """Tracks a ``transformers.Trainer`` run with greenlove (see the module docstring).

        callback = GreenloveCallback(out="greenlove-out")
        Trainer(model, args, ..., callbacks=[callback]).train()
        print(callback.report)

    Arguments as for ``greenlove.track`` (``report``, ``limits``, ``on_limit``, ``out``,
    ``history``, ``progress``, ``site``, ``energy``, ``name``), checked here. ``dry_run=True``:
    the training goes on only until the forecast of the whole run is tight enough (or
    ``budget_s`` is spent), then stops; the model, optimizer, LR scheduler and RNG states are
    put back as they were at ``on_train_begin`` and ``callback.report`` is the prediction of
    the whole run, to pass as ``report=`` to the callback of the real run, on a fresh
    ``Trainer`` (the dry run's Trainer keeps its own step count). After a real run,
    ``callback.report`` is the tracked run's Report (with ``check`` against ``report=``).

    Reporters named in ``report_to`` are called before the callbacks passed to the Trainer, so
    they log greenlove's keys only when listed after it: ``report_to="none"`` and
    ``callbacks=[GreenloveCallback(...), WandbCallback()]``, say.
    """

    def __init__(self, report: Any = None, *, limits: Any = None, on_limit: str = "warn",
                 out: Any = None, history: Any = True, progress: Any = True, site: Any = None,
                 energy: Any = True, name: Any = None, dry_run: Any = False,
                 budget_s: Any = None) -> None:
        self.options = CallbackOptions.check(
            report=report, limits=limits, on_limit=on_limit, out=out, history=history,
            progress=progress, site=site, energy=energy, name=name, dry_run=dry_run,
            budget_s=budget_s)
        self.report: Any = None
        self.plan: TrainerPlan | None = None
        self._session: FitSession | None = None
        self._open: str | None = None         # the extra open now, if any
        self._stopped = False                 # this callback asked the Trainer to stop
        self._epoch_steps = 0                 # steps since the last epoch end

    # -- lifecycle ------------------------------------------------------------------------
    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self._session is not None:
            self.close("interrupted: trainer.train() began again before the last training "
                       "ended")
        plan = trainer_plan(args, state, kwargs.get("train_dataloader"))
        restore = [kwargs.get(k) for k in ("model", "optimizer", "lr_scheduler")]
        session = FitSession(self.options)
        session.start(epochs=plan.epochs, steps_per_epoch=plan.steps_per_epoch,
                      max_steps=plan.max_steps, expected_extras=plan.expected_extras,
                      writer=bool(getattr(state, "is_world_process_zero", True)),
                      restore=[o for o in restore if o is not None])
        self.plan, self._session, self.report = plan, session, None
        self._open, self._stopped, self._epoch_steps = None, False, 0
        _open_callbacks.add(self)
        if getattr(args, "eval_on_start", False):     # it runs right after this hook
            self._begin(EVALUATION)

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.close()

    def close(self, reason: str | None = None) -> Any:
        """End the tracking now (idempotent): the JSON and HTML written, a dry run's state put
        back; returns ``callback.report``. ``on_train_end`` calls it; call it yourself after a
        ``trainer.train()`` that raised, where the process goes on (a notebook, say)."""
        session, self._session = self._session, None
        _open_callbacks.discard(self)
        if session is not None:
            self.report = session.end(reason)
            if self.options.dry_run and self.report is not None \
                    and self.report.prediction is None:
                warnings.warn(f"greenlove's dry run stopped ({self.report.actual.stop_reason}) "
                              "before it could forecast the whole run: callback.report holds "
                              "no prediction; give it a larger budget_s (or None: automatic)",
                              GreenloveWarning, stacklevel=2)
        return self.report

    # -- steps, epochs, extras ------------------------------------------------------------
    def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._end()     # an extra whose end hook never came ends at the next step

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        run = self._run()
        if run is None:
            return
        self._end()
        run.step_end(1)
        self._epoch_steps += 1
        self._check_stop(control)
        if control.should_evaluate:
            self._begin(EVALUATION)
        elif control.should_save:
            self._begin(CHECKPOINT)

    def on_evaluate(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self._open == EVALUATION:
            self._end()
            if control.should_save:
                self._begin(CHECKPOINT)

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self._open == CHECKPOINT:
            self._end()

    def on_epoch_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        run = self._run()
        if run is None:
            return
        self._end()
        plan = self.plan
        # An epoch cut short by this callback's stop is not an epoch done (the Trainer still
        # calls on_epoch_end after it breaks out of the loop).
        if plan is not None and plan.by_epoch and (
                not self._stopped or self._epoch_steps >= plan.steps_per_epoch):
            run.epoch_end()
        self._epoch_steps = 0
        self._check_stop(control)
        if control.should_evaluate:
            self._begin(EVALUATION)
        elif control.should_save:
            self._begin(CHECKPOINT)

    def on_log(self, args: Any, state: Any, control: Any, logs: Any = None,
               **kwargs: Any) -> None:
        run = self._run()
        if run is None or logs is None:
            return
        try:
            metrics = run.metrics()
        except Exception as error:  # tracking never breaks the training
            warnings.warn(f"greenlove could not add its forecast to the logs "
                          f"({type(error).__name__}: {error}).", GreenloveWarning, stacklevel=2)
            return
        logs.update(metrics)
        history = getattr(state, "log_history", None)
        if history and history[-1].get("step") == state.global_step:
            history[-1].update(metrics)      # the Trainer's own record of this log

    # -- inside ---------------------------------------------------------------------------
    def _run(self) -> Any:
        return None if self._session is None else self._session.run

    def _check_stop(self, control: Any) -> None:
        run = self._run()
        if run is None or not run.should_stop:
            return
        control.should_training_stop = True
        if self.options.dry_run:
            # Once the dry run has seen enough, no evaluation and no checkpoint of its state.
            control.should_evaluate = False
            control.should_save = False
        self._stopped = True

    def _begin(self, kind: str) -> None:
        run = self._run()
        if run is not None:
            run.extra_begin(kind)
            self._open = kind

    def _end(self) -> None:
        run = self._run()
        if run is not None and self._open is not None:
            run.extra_end()
        self._open = None


_open_callbacks: weakref.WeakSet[GreenloveCallback] = weakref.WeakSet()
"""Callbacks whose training began and has not ended: closed at exit (a training that raised)."""


def _close_at_exit() -> None:
    error = getattr(sys, "last_exc", None) or getattr(sys, "last_value", None)
    reason = (f"exception: {type(error).__name__}" + (f": {error}" if str(error) else "")
              if error is not None else
              "interrupted: the process ended before the Trainer's on_train_end")
    for callback in list(_open_callbacks):
        callback.close(reason)


atexit.register(_close_at_exit)
