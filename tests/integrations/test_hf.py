"""greenlove.hf.GreenloveCallback on a real transformers Trainer (CPU, a tiny GPT-2 built from
its config, random token ids; nothing downloaded)."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

from torch.utils.data import Dataset, IterableDataset  # noqa: E402
from transformers import (  # noqa: E402
    GPT2Config,
    GPT2LMHeadModel,
    Trainer,
    TrainerCallback,
    TrainerState,
    TrainingArguments,
)

import greenlove  # noqa: E402
from greenlove.hf import GreenloveCallback  # noqa: E402
from greenlove.integrations.hf import trainer_plan  # noqa: E402

SEQ = 16
VOCAB = 64


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread: on a shared 2-core machine two threads each are several times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


class Tokens(Dataset):
    """Random token ids; the labels are the inputs (the model shifts them)."""

    def __init__(self, n: int, seed: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        self.ids = torch.randint(0, VOCAB, (n, SEQ), generator=g)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict:
        return {"input_ids": self.ids[i], "labels": self.ids[i]}


class Stream(IterableDataset):
    """The same items without a length."""

    def __init__(self, n: int) -> None:
        self.items = Tokens(n)

    def __iter__(self):
        return (self.items[i] for i in range(len(self.items)))


def tiny_model(seed: int = 0) -> GPT2LMHeadModel:
    torch.manual_seed(seed)
    return GPT2LMHeadModel(GPT2Config(n_layer=2, n_embd=64, n_head=2, vocab_size=VOCAB,
                                      n_positions=SEQ, bos_token_id=0, eos_token_id=0))


def arguments(tmp_path: Path, **kwargs) -> TrainingArguments:
    defaults = dict(output_dir=str(tmp_path / "trainer"), per_device_train_batch_size=4,
                    per_device_eval_batch_size=8, num_train_epochs=2, report_to="none",
                    use_cpu=True, disable_tqdm=True, dataloader_num_workers=0,
                    logging_steps=4, save_strategy="no", seed=0)
    return TrainingArguments(**{**defaults, **kwargs})


def callback(tmp_path: Path, **kwargs) -> GreenloveCallback:
    return GreenloveCallback(**{"history": tmp_path / "history", "progress": False, **kwargs})


class Record(TrainerCallback):
    """Placed after greenlove's callback: what the logs held when it saw them."""

    def __init__(self) -> None:
        self.logs: list[dict] = []

    def on_log(self, args, state, control, logs=None, **kwargs):
        self.logs.append(dict(logs))


def test_steps_epochs_evaluations_and_checkpoints_are_tracked(tmp_path) -> None:
    out = tmp_path / "out"
    record = Record()
    cb = callback(tmp_path, out=out)
    args = arguments(tmp_path, eval_strategy="steps", eval_steps=5, save_strategy="steps",
                     save_steps=7)
    trainer = Trainer(model=tiny_model(), args=args, train_dataset=Tokens(48),
                      eval_dataset=Tokens(16, seed=1), callbacks=[cb, record])
    trainer.train()

    # 48 items / batch 4 = 12 optimizer steps an epoch, 2 epochs: 24 steps; evaluations at
    # 5, 10, 15, 20 and the last step; saves at 7, 14, 21 and the last step.
    assert cb.plan is not None and cb.plan.max_steps == 24 and cb.plan.steps_per_epoch == 12
    assert cb.plan.expected_extras == {"evaluation": 5, "checkpoint": 4}
    saved = json.loads((out / "greenlove-run.json").read_text())
    actual = saved["actual"]
    assert actual["steps_done"] == trainer.state.global_step == 24
    assert actual["epochs_done"] == 2 and actual["completed"] is True
    extras = {e["kind"]: e["count"] for e in actual["extras"]}
    assert extras == {"evaluation": 5, "checkpoint": 4}
    assert len(list((tmp_path / "trainer").glob("checkpoint-*"))) == 4
    assert (out / "greenlove-run.html").is_file()
    assert cb.report.actual.steps_done == 24 and cb.report.prediction is None

    # every log the later callbacks saw carries the forecast, the train logs and the eval logs
    assert any("loss" in logs for logs in record.logs)
    assert any("eval_loss" in logs for logs in record.logs)
    for logs in record.logs:
        for key in ("greenlove/time_s", "greenlove/time_s_low", "greenlove/time_s_high",
                    "greenlove/done", "greenlove/steps"):
            assert key in logs and isinstance(logs[key], float)
        assert logs["greenlove/time_s_low"] <= logs["greenlove/time_s"] \
            <= logs["greenlove/time_s_high"]
    assert all("greenlove/done" in entry for entry in trainer.state.log_history)


def test_gradient_accumulation_counts_optimizer_steps(tmp_path) -> None:
    cb = callback(tmp_path)
    args = arguments(tmp_path, gradient_accumulation_steps=3, num_train_epochs=1)
    trainer = Trainer(model=tiny_model(), args=args, train_dataset=Tokens(40), callbacks=[cb])
    trainer.train()
    # 10 batches an epoch, 3 a step: 4 optimizer steps (the last one of a single batch)
    assert cb.plan.steps_per_epoch == 4
    assert cb.report.actual.steps_done == trainer.state.global_step == 4


def test_on_limit_stop_ends_the_training(tmp_path) -> None:
    cb = callback(tmp_path, limits=greenlove.Limits(max_s=1.0), on_limit="stop")
    args = arguments(tmp_path, max_steps=100_000, num_train_epochs=1)
    trainer = Trainer(model=tiny_model(), args=args, train_dataset=Tokens(64), callbacks=[cb])
    with pytest.warns(greenlove.GreenloveWarning, match="asks the run to stop"):
        trainer.train()
    actual = cb.report.actual
    assert 0 < trainer.state.global_step < 100_000
    assert actual.steps_done == trainer.state.global_step
    assert actual.completed is False and actual.stop_reason.startswith("limit max_s")


class Snapshot(TrainerCallback):
    """Placed before greenlove's callback: the user's state at on_train_begin, and whether the
    dry run's training changed it."""

    def on_train_begin(self, args, state, control, model=None, optimizer=None,
                       lr_scheduler=None, **kwargs):
        self.weights = {k: v.clone() for k, v in model.state_dict().items()}
        self.lr = [g["lr"] for g in optimizer.param_groups]
        self.scheduler_epoch = lr_scheduler.last_epoch
        self.optimizer = optimizer
        self.rng = torch.get_rng_state()
        self.changed = False

    def on_step_end(self, args, state, control, model=None, **kwargs):
        self.changed = self.changed or any(
            not torch.equal(v, self.weights[k]) for k, v in model.state_dict().items())


def test_dry_run_stops_early_restores_the_state_and_predicts(tmp_path) -> None:
    out = tmp_path / "dry"
    snapshot = Snapshot()
    cb = callback(tmp_path, out=out, dry_run=True, budget_s=3.0)
    model = tiny_model()
    # 1,000 steps an epoch: the dry run stops inside the first one, whose end would save
    args = arguments(tmp_path, num_train_epochs=3, eval_strategy="steps", eval_steps=4,
                     save_strategy="epoch")
    trainer = Trainer(model=model, args=args, train_dataset=Tokens(4000),
                      eval_dataset=Tokens(16, seed=1), callbacks=[snapshot, cb])
    trainer.train()

    assert snapshot.changed                         # the dry run did train the model
    steps = trainer.state.global_step
    assert 4 <= steps < 1000
    for key, value in model.state_dict().items():
        assert torch.equal(value, snapshot.weights[key]), key
    assert snapshot.optimizer.state_dict()["state"] == {}
    assert [g["lr"] for g in snapshot.optimizer.param_groups] == snapshot.lr
    assert trainer.lr_scheduler.last_epoch == snapshot.scheduler_epoch
    assert torch.equal(torch.get_rng_state(), snapshot.rng)
    assert not list((tmp_path / "trainer").glob("checkpoint-*"))   # no save of its state

    report = cb.report
    assert isinstance(report, greenlove.Report)
    assert report.prediction is not None and report.prediction.time_s.point > 0
    assert report.prediction.time_s.low <= report.prediction.time_s.point \
        <= report.prediction.time_s.high
    assert report.actual.dry_run and report.actual.steps_done == steps
    assert report.actual.stop_reason.startswith("dry run")
    assert {e.kind: e.count for e in report.actual.extras}["evaluation"] >= 1
    assert report.plan.epochs == 3 and report.plan.batches_per_epoch == 1000
    assert (out / "greenlove-dry-run.json").is_file()


def test_dry_run_report_checks_the_real_run(tmp_path) -> None:
    model = tiny_model()
    dry = callback(tmp_path, dry_run=True, budget_s=1.5)
    data = Tokens(400)                                   # 100 steps an epoch, 2 epochs
    Trainer(model=model, args=arguments(tmp_path), train_dataset=data, callbacks=[dry]).train()
    assert dry.report.prediction is not None and dry.report.plan.epochs == 2
    assert dry.report.actual.steps_done < 200
    real = callback(tmp_path, report=dry.report)
    trainer = Trainer(model=model, args=arguments(tmp_path), train_dataset=data,
                      callbacks=[real])
    trainer.train()
    assert real.report.actual.steps_done == 200 and real.report.actual.completed
    check = real.report.check
    assert check is not None and check.actual_s == pytest.approx(real.report.actual.time_s)
    assert check.predicted_s == dry.report.prediction.time_s


def test_arguments_are_checked_at_construction() -> None:
    with pytest.raises(ValueError, match="budget_s"):
        GreenloveCallback(dry_run=True, budget_s=0)
    with pytest.raises(ValueError, match="budget_s"):
        GreenloveCallback(dry_run=True, budget_s=-2.0)
    with pytest.raises(ValueError, match="on_limit"):
        GreenloveCallback(on_limit="halt")
    with pytest.raises(TypeError, match="limits"):
        GreenloveCallback(limits={"max_s": 3})


def test_a_loader_without_a_length(tmp_path) -> None:
    # The Trainer itself refuses, before any hook: greenlove never starts, writes nothing.
    out = tmp_path / "out"
    cb = callback(tmp_path, out=out)
    with pytest.raises(ValueError, match="max_steps"):
        Trainer(model=tiny_model(), args=arguments(tmp_path), train_dataset=Stream(32),
                callbacks=[cb]).train()
    assert cb.report is None and cb.plan is None and not out.exists()

    # With max_steps the run is counted in steps (the passes over the stream left out).
    cb = callback(tmp_path, out=out)
    trainer = Trainer(model=tiny_model(), args=arguments(tmp_path, max_steps=12),
                      train_dataset=Stream(32), callbacks=[cb])
    trainer.train()
    assert cb.plan.by_epoch is False and cb.plan.steps_per_epoch == 12
    assert cb.report.actual.steps_done == trainer.state.global_step == 12
    assert cb.report.actual.completed

    # A loop whose state says no length at all: a clear error saying what to pass.
    with pytest.raises(ValueError, match=r"max_steps=N"):
        callback(tmp_path).on_train_begin(arguments(tmp_path), TrainerState(max_steps=-1),
                                          transformers.TrainerControl(), train_dataloader=None)


def plan_for(tmp_path: Path, batches: int, **kwargs):
    args = arguments(tmp_path, **kwargs)
    state = TrainerState()
    steps_per_epoch = -(-batches // args.gradient_accumulation_steps)
    max_steps = args.max_steps if args.max_steps > 0 else \
        int(-(-args.num_train_epochs * steps_per_epoch // 1))
    state.compute_steps(args, max_steps)
    state.max_steps = max_steps
    state.num_train_epochs = -(-max_steps // steps_per_epoch)
    return trainer_plan(args, state, list(range(batches)))


def test_the_schedule_gives_the_expected_extras(tmp_path) -> None:
    # eval every 10 of 25 steps after a delay of 15: 20 and the last step; on start: one more
    plan = plan_for(tmp_path, 25, num_train_epochs=1, eval_strategy="steps", eval_steps=10,
                    eval_delay=15, eval_on_start=True, save_strategy="steps", save_steps=5)
    assert plan.expected_extras == {"evaluation": 3, "checkpoint": 5}
    plan = plan_for(tmp_path, 10, num_train_epochs=3, eval_strategy="epoch",
                    save_strategy="epoch")
    assert plan.expected_extras == {"evaluation": 3, "checkpoint": 3}
    # max_steps ends the third epoch early; it is still evaluated at its end
    plan = plan_for(tmp_path, 10, max_steps=25, eval_strategy="epoch", save_strategy="best",
                    metric_for_best_model="loss")
    assert (plan.epochs, plan.max_steps) == (3, 25)
    assert plan.expected_extras == {"evaluation": 3}     # "best" saves: no number known
    plan = plan_for(tmp_path, 10, max_steps=25, eval_strategy="steps", eval_steps=0.2)
    assert plan.expected_extras == {"evaluation": 5, "checkpoint": 0}


def test_training_that_raises_is_closed_and_written(tmp_path) -> None:
    class Boom(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == 3:
                raise RuntimeError("boom")

    out = tmp_path / "out"
    cb = callback(tmp_path, out=out)
    trainer = Trainer(model=tiny_model(), args=arguments(tmp_path), train_dataset=Tokens(32),
                      callbacks=[cb, Boom()])
    with pytest.raises(RuntimeError, match="boom"):
        trainer.train()
    report = cb.close("exception: RuntimeError: boom")
    assert report.actual.steps_done == 3 and not report.actual.completed
    saved = json.loads((out / "greenlove-run.json").read_text())
    assert saved["actual"]["stop_reason"] == "exception: RuntimeError: boom"
    assert cb.close() is report                          # idempotent


SCRIPT = """
import os, sys
sys.path.insert(0, {tests!r})
os.environ["HF_HUB_OFFLINE"] = "1"
from transformers import Trainer, TrainerCallback
from tests.integrations.test_hf import Tokens, arguments, callback, tiny_model
from pathlib import Path

class Boom(TrainerCallback):
    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == 2:
            raise RuntimeError("boom")

tmp = Path({tmp!r})
cb = callback(tmp, out=tmp / "out")
Trainer(model=tiny_model(), args=arguments(tmp), train_dataset=Tokens(32),
        callbacks=[cb, Boom()]).train()
"""


def test_an_uncaught_exception_is_written_at_exit(tmp_path) -> None:
    root = Path(__file__).resolve().parents[2]
    script = tmp_path / "boom.py"
    script.write_text(textwrap.dedent(SCRIPT.format(tests=str(root), tmp=str(tmp_path))))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(
        [str(root / "src"), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 1 and "RuntimeError: boom" in done.stderr
    saved = json.loads((tmp_path / "out" / "greenlove-run.json").read_text())
    assert saved["actual"]["stop_reason"] == "exception: RuntimeError: boom"
    assert saved["actual"]["steps_done"] == 2 and saved["actual"]["completed"] is False


def test_import_without_transformers_names_the_extra(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "transformers", None)
    for name in ("greenlove.hf", "greenlove.integrations.hf"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    with pytest.raises(ImportError, match=r"pip install greenlove\[hf\]"):
        importlib.import_module("greenlove.hf")


def test_import_greenlove_does_not_import_transformers() -> None:
    code = "import sys, greenlove; print('transformers' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "False"
