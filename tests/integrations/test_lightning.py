"""greenlove.lightning.GreenloveCallback on real (tiny, CPU) Lightning fits, and the fit's
schedule (length, validation passes, checkpoint saves) as pure functions."""

from __future__ import annotations

import copy
import importlib
import subprocess
import sys
import time
import warnings

import pytest
import torch
from torch.utils.data import DataLoader, IterableDataset, TensorDataset

import greenlove
from greenlove.integrations.lightning_schedule import (
    CheckpointRule,
    FitLength,
    checkpoint_saves,
    fit_length,
    validation_passes,
)

pl = pytest.importorskip("lightning.pytorch")
from lightning.pytorch.callbacks import ModelCheckpoint  # noqa: E402
from lightning.pytorch.loggers import Logger  # noqa: E402

from greenlove.lightning import GreenloveCallback  # noqa: E402

BATCH = 8
TRAIN_ITEMS = 64          # 8 batches an epoch
VAL_ITEMS = 16            # 2 validation batches


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # Lightning's tips and greenlove's site warnings
        yield


class Tiny(pl.LightningModule):
    """A tiny regression; the optimizer is made once, so a test can read its state."""

    def __init__(self, fail_at: int | None = None) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(),
                                       torch.nn.Linear(16, 1))
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=1e-2)
        self.fail_at = fail_at
        self.batches = 0

    def training_step(self, batch, batch_idx):
        if self.fail_at is not None and self.batches == self.fail_at:
            raise RuntimeError("boom in training_step")
        self.batches += 1
        x, y = batch
        return torch.nn.functional.mse_loss(self.net(x), y)

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val_loss", torch.nn.functional.mse_loss(self.net(x), y))

    def configure_optimizers(self):
        return self.optimizer


class Capture(Logger):
    """A logger that keeps what it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[int | None, dict[str, float]]] = []

    @property
    def name(self) -> str:
        return "capture"

    @property
    def version(self) -> int:
        return 0

    def log_hyperparams(self, params, *args, **kwargs) -> None:
        pass

    def log_metrics(self, metrics, step=None) -> None:
        self.rows.append((step, dict(metrics)))


def loaders(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    train = TensorDataset(torch.randn(TRAIN_ITEMS, 8, generator=g), torch.randn(TRAIN_ITEMS, 1, generator=g))
    val = TensorDataset(torch.randn(VAL_ITEMS, 8, generator=g), torch.randn(VAL_ITEMS, 1, generator=g))
    return DataLoader(train, batch_size=BATCH, shuffle=True), DataLoader(val, batch_size=BATCH)


def trainer(tmp_path, callback, *, logger=False, checkpoint=True, **kwargs):
    callbacks = [callback]
    if checkpoint:
        callbacks.append(ModelCheckpoint(dirpath=tmp_path / "checkpoints"))
    return pl.Trainer(callbacks=callbacks, logger=logger, default_root_dir=tmp_path,
                      enable_progress_bar=False, enable_model_summary=False,
                      enable_checkpointing=checkpoint, **kwargs)


def callback(tmp_path, report=None, **kwargs):
    return GreenloveCallback(report, out=tmp_path / "out", history=tmp_path / "history",
                             progress=False, **kwargs)


def test_a_fit_is_tracked_with_its_validation_passes_and_checkpoint_saves(tmp_path):
    cb = callback(tmp_path, log_every_n_steps=1)
    logger = Capture()
    t = trainer(tmp_path, cb, logger=logger, max_epochs=3)
    start = time.perf_counter()
    t.fit(Tiny(), *loaders())
    wall_s = time.perf_counter() - start

    saved = greenlove.load(tmp_path / "out" / "greenlove-run.json")
    assert (tmp_path / "out" / "greenlove-run.html").is_file()
    for report in (cb.report, saved):
        a = report.actual
        assert a.completed and a.stop_reason == "completed"
        assert a.steps_done == 3 * TRAIN_ITEMS // BATCH and a.epochs_done == 3
        assert a.steps_per_epoch == TRAIN_ITEMS // BATCH and a.epochs_planned == 3
        assert 0 < sum(a.epoch_s) <= a.time_s <= wall_s
        counts = {e.kind: e.count for e in a.extras}
        assert counts == {"sanity check": 1, "validation": 3, "checkpoint": 3}
        assert all(e.total_s > 0 for e in a.extras)
    assert len(list((tmp_path / "checkpoints").glob("*.ckpt"))) == 1   # top-1: saved 3 times
    ours = [(step, row) for step, row in logger.rows if any(k.startswith("greenlove/") for k in row)]
    keys = set().union(*(row for _, row in ours))
    assert {"greenlove/time_s", "greenlove/time_s_low", "greenlove/time_s_high",
            "greenlove/done", "greenlove/remaining_s"} <= keys
    assert all(k.startswith("greenlove/") for k in keys)     # sent apart from Lightning's own
    # Epoch ends give new forecasts (one each at least), logged at the trainer's global step.
    steps = [step for step, _ in ours]
    assert len(steps) >= 3 and steps == sorted(steps) and steps[-1] == 3 * TRAIN_ITEMS // BATCH
    last = ours[-1][1]
    assert last["greenlove/time_s_low"] <= last["greenlove/time_s"] <= last["greenlove/time_s_high"]


def test_on_limit_stop_stops_the_fit(tmp_path):
    cb = callback(tmp_path, limits=greenlove.Limits(max_s=0.3), on_limit="stop")
    t = trainer(tmp_path, cb, max_epochs=500, checkpoint=False)
    t.fit(Tiny(), *loaders())
    a = cb.report.actual
    assert t.should_stop and not a.completed
    assert a.stop_reason.startswith("limit max_s")
    assert a.epochs_done < 500 and t.current_epoch < 499


def test_an_exception_in_training_step_writes_the_json_and_goes_on_to_the_user(tmp_path):
    cb = callback(tmp_path)
    with pytest.raises(RuntimeError, match="boom in training_step"):
        trainer(tmp_path, cb, max_epochs=3).fit(Tiny(fail_at=11), *loaders())
    saved = greenlove.load(tmp_path / "out" / "greenlove-run.json")
    assert saved.actual.stop_reason == "exception: RuntimeError: boom in training_step"
    assert saved.actual.steps_done == 11 and saved.actual.epochs_done == 1
    assert not saved.actual.completed and cb.report.actual.steps_done == 11


def test_a_dry_run_stops_early_puts_the_state_back_and_predicts_the_whole_fit(tmp_path):
    model = Tiny()
    train, val = loaders()
    # The optimizer's state before the fit: give it some (a real step), then snapshot all.
    model.net(torch.randn(4, 8)).sum().backward()
    model.optimizer.step()
    model.optimizer.zero_grad(set_to_none=True)
    weights = copy.deepcopy(model.state_dict())
    optimizer = copy.deepcopy(model.optimizer.state_dict())
    rng = torch.get_rng_state()

    cb = callback(tmp_path, dry_run=True, budget_s=1.5)
    t = trainer(tmp_path, cb, max_epochs=300)
    t.fit(model, train, val)

    assert t.should_stop and t.current_epoch < 299
    assert all(torch.equal(weights[k], v) for k, v in model.state_dict().items())
    after = model.optimizer.state_dict()
    assert after["param_groups"] == optimizer["param_groups"]
    for key, state in optimizer["state"].items():
        assert all(torch.equal(v, after["state"][key][name]) for name, v in state.items())
    assert torch.equal(torch.get_rng_state(), rng)

    report = cb.report
    assert isinstance(report, greenlove.Report) and report.prediction is not None
    a = report.actual
    assert a.dry_run and not a.completed and a.stop_reason.startswith("dry run")
    assert a.steps_done < 300 * TRAIN_ITEMS // BATCH
    assert {e.kind: e.count for e in a.extras}.get("validation", 0) >= 1
    p = report.prediction.time_s
    assert p.low <= p.point <= p.high and p.point > a.time_s
    assert report.plan.epochs == 300 and report.plan.batches_per_epoch == TRAIN_ITEMS // BATCH
    assert (tmp_path / "out" / "greenlove-dry-run.json").is_file()
    assert "dry run" in str(report)


def test_gradient_accumulation_max_steps_and_mid_epoch_validation_follow_lightning(tmp_path):
    # 8 batches an epoch, the optimizer stepped every 3 (at batches 3, 6 and 8): max_steps=7
    # ends the fit at the 3rd batch of the 3rd epoch: 19 batches. Validation every 4 batches:
    # 2 passes in each whole epoch, none in the 3 batches of the last.
    cb = callback(tmp_path)
    t = trainer(tmp_path, cb, max_epochs=5, max_steps=7, accumulate_grad_batches=3,
                val_check_interval=0.5, checkpoint=False)
    t.fit(Tiny(), *loaders())
    a = cb.report.actual
    assert t.global_step == 7
    assert a.steps_done == 19 and a.completed
    assert {e.kind: e.count for e in a.extras}.get("validation") == 4


@pytest.mark.parametrize("budget_s", [0, -1])
def test_budget_s_must_be_positive_at_construction(budget_s):
    with pytest.raises(ValueError, match="budget_s"):
        GreenloveCallback(dry_run=True, budget_s=budget_s)


@pytest.mark.parametrize(("kwargs", "word"), [
    ({"budget_s": 5}, "budget_s"), ({"log_every_n_steps": 0}, "log_every_n_steps"),
    ({"on_limit": "halt"}, "on_limit"), ({"dry_run": 1}, "dry_run"),
    ({"limits": 5}, "limits"),
])
def test_bad_arguments_raise_at_construction_naming_them(kwargs, word):
    with pytest.raises((TypeError, ValueError), match=word):
        GreenloveCallback(**kwargs)


def test_a_fit_without_an_end_says_what_to_pass(tmp_path):
    cb = callback(tmp_path)
    with pytest.raises(ValueError, match=r"max_epochs=N\) or Trainer\(max_steps=N"):
        trainer(tmp_path, cb, max_epochs=-1, checkpoint=False).fit(Tiny(), loaders()[0])
    assert cb.report is None


def test_a_fit_that_trains_no_batch_is_not_tracked(tmp_path):
    cb = callback(tmp_path)
    with pytest.warns(greenlove.GreenloveWarning, match="trains no batch"):
        trainer(tmp_path, cb, max_epochs=2, limit_train_batches=0, checkpoint=False).fit(
            Tiny(), *loaders())
    assert cb.report is None and not (tmp_path / "out").exists()


class Stream(IterableDataset):
    def __iter__(self):
        g = torch.Generator().manual_seed(0)
        for _ in range(TRAIN_ITEMS):
            yield torch.randn(8, generator=g), torch.randn(1, generator=g)


def test_an_iterable_dataset_without_a_length_says_what_to_pass(tmp_path):
    cb = callback(tmp_path)
    with pytest.raises(ValueError, match="limit_train_batches"):
        trainer(tmp_path, cb, max_epochs=2, checkpoint=False).fit(
            Tiny(), DataLoader(Stream(), batch_size=BATCH))


def test_an_iterable_dataset_with_limit_train_batches_is_tracked(tmp_path):
    cb = callback(tmp_path)
    trainer(tmp_path, cb, max_epochs=2, limit_train_batches=5, checkpoint=False).fit(
        Tiny(), DataLoader(Stream(), batch_size=BATCH))
    assert cb.report.actual.steps_done == 10 and cb.report.actual.completed


def test_without_the_extra_the_import_names_it(monkeypatch):
    for name in ("lightning", "lightning.pytorch", "lightning.pytorch.callbacks"):
        monkeypatch.setitem(sys.modules, name, None)
    for name in ("greenlove.lightning", "greenlove.integrations.lightning"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    with pytest.raises(ImportError, match=r"pip install greenlove\[lightning\]"):
        importlib.import_module("greenlove.lightning")


def test_import_greenlove_does_not_import_lightning():
    code = "import sys, greenlove; print('lightning' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


# -- the schedule, as pure functions ----------------------------------------------------------

def test_fit_length_turns_optimizer_steps_into_batches():
    assert fit_length(max_epochs=3, max_steps=-1, batches_per_epoch=10) == FitLength(3, 10, None)
    # 10 batches, accumulate 4: 3 optimizer steps an epoch (the last at the epoch's end).
    assert fit_length(max_epochs=5, max_steps=7, batches_per_epoch=10,
                      accumulate_grad_batches=4) == FitLength(3, 10, 24)
    assert fit_length(max_epochs=-1, max_steps=6, batches_per_epoch=10,
                      accumulate_grad_batches=4) == FitLength(2, 10, None)
    assert fit_length(max_epochs=2, max_steps=100, batches_per_epoch=10) == FitLength(2, 10, None)
    assert fit_length(max_epochs=0, max_steps=-1, batches_per_epoch=10) is None
    with pytest.raises(ValueError, match="max_epochs"):
        fit_length(max_epochs=-1, max_steps=-1, batches_per_epoch=10)
    with pytest.raises(ValueError, match="limit_train_batches"):
        fit_length(max_epochs=2, max_steps=-1, batches_per_epoch=float("inf"))


def test_validation_passes_follow_the_trainers_schedule():
    length = FitLength(4, 10, None)
    inf = float("inf")
    assert validation_passes(length, enabled=True, check_val_every_n_epoch=1,
                             val_check_batch=inf) == [1, 1, 1, 1]
    assert validation_passes(length, enabled=True, check_val_every_n_epoch=2,
                             val_check_batch=inf) == [0, 1, 0, 1]
    assert validation_passes(length, enabled=True, check_val_every_n_epoch=1,
                             val_check_batch=3) == [3, 3, 3, 3]
    # check_val_every_n_epoch=None: every 4 batches counted across epochs.
    assert validation_passes(length, enabled=True, check_val_every_n_epoch=None,
                             val_check_batch=4) == [2, 3, 2, 3]
    assert validation_passes(FitLength(2, 10, 15), enabled=True, check_val_every_n_epoch=1,
                             val_check_batch=inf) == [1, 0]
    assert validation_passes(length, enabled=False, check_val_every_n_epoch=1,
                             val_check_batch=inf) == [0, 0, 0, 0]
    assert validation_passes(length, enabled=True, check_val_every_n_epoch=1,
                             val_check_batch=None) is None


def test_checkpoint_saves_where_they_can_be_told():
    length = FitLength(4, 10, None)
    assert checkpoint_saves(length, [CheckpointRule(1, True)], None) == 4
    assert checkpoint_saves(length, [CheckpointRule(2, True), CheckpointRule(1, True)], None) == 6
    assert checkpoint_saves(length, [CheckpointRule(1, False)], [0, 1, 0, 1]) == 2
    assert checkpoint_saves(length, [CheckpointRule(1, False)], [2, 2, 2, 2]) is None
    assert checkpoint_saves(length, [], None) == 0
    assert checkpoint_saves(length, None, [1, 1, 1, 1]) is None
    assert checkpoint_saves(FitLength(2, 10, 15), [CheckpointRule(1, True)], None) is None
