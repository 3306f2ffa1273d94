"""The Hugging Face Trainer workload of ``greenlove validate``: a tiny GPT-2 (built from its
config, random token ids: nothing downloaded) trained by ``transformers.Trainer`` with an
evaluation every few steps and checkpoint saves, predicted by ``GreenloveCallback(dry_run=True)``
and then trained in full on a fresh Trainer tracked with ``report=`` the dry run's Report.

Registered as ``FRAMEWORK_CHECKS["hf"]``; transformers is imported only when the check runs,
so that a machine without the extra sees an ImportError naming it.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .frameworks import FRAMEWORK_CHECKS, FrameworkRow

WORKLOAD = "hf-gpt2"


@dataclass(frozen=True)
class HfSize:
    """One scale of the workload: ``items`` training sequences of ``seq`` tokens, ``batch`` a
    step, ``epochs``; an evaluation on ``eval_items`` every ``eval_steps`` steps and a
    checkpoint every ``save_steps`` (and at the end)."""

    items: int
    seq: int
    batch: int
    epochs: int
    eval_items: int
    eval_steps: int
    save_steps: int


SIZES: dict[str, HfSize] = {
    # About 25 ms a step on this project's 2-core CPU VM (unloaded): full about 40-60 s,
    # quick about 10 s, tiny a few. The dry run waits for the first checkpoint (the rule waits
    # for every kind of extra the run has), so saves come every 1/8 of the run.
    "full": HfSize(items=4000, seq=32, batch=8, epochs=4, eval_items=256, eval_steps=200,
                   save_steps=250),
    "quick": HfSize(items=2000, seq=32, batch=8, epochs=2, eval_items=128, eval_steps=50,
                    save_steps=125),
    "tiny": HfSize(items=160, seq=16, batch=8, epochs=2, eval_items=32, eval_steps=10,
                   save_steps=20),
}

VOCAB = 256


def _tokens(n: int, seq: int, seed: int) -> Any:
    from torch.utils.data import Dataset

    class Tokens(Dataset):
        def __init__(self) -> None:
            g = torch.Generator().manual_seed(seed)
            self.ids = torch.randint(0, VOCAB, (n, seq), generator=g)

        def __len__(self) -> int:
            return len(self.ids)

        def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
            return {"input_ids": self.ids[i], "labels": self.ids[i]}

    return Tokens()


def check(seed: int, scale: str) -> FrameworkRow:
    """Dry run, then the full run on a fresh Trainer; the row compares the two (seconds)."""
    if scale not in SIZES:
        raise ValueError(f"scale must be one of {', '.join(SIZES)}; got {scale!r}")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")     # nothing here is downloaded
    try:
        from transformers import GPT2Config, GPT2LMHeadModel, Trainer, TrainingArguments
    except ImportError as error:
        raise ImportError("the hf workload needs transformers: pip install greenlove[hf]") \
            from error
    from ..integrations.hf import GreenloveCallback

    size = SIZES[scale]
    torch.manual_seed(seed)
    model = GPT2LMHeadModel(GPT2Config(n_layer=2, n_embd=64, n_head=2, vocab_size=VOCAB,
                                       n_positions=size.seq, bos_token_id=0, eos_token_id=0))
    train = _tokens(size.items, size.seq, seed)
    evaluate = _tokens(size.eval_items, size.seq, seed + 1)
    with tempfile.TemporaryDirectory(prefix="greenlove-hf-") as folder:
        def trainer(callback: GreenloveCallback, name: str) -> Any:
            args = TrainingArguments(
                output_dir=str(Path(folder) / name), num_train_epochs=size.epochs,
                per_device_train_batch_size=size.batch, per_device_eval_batch_size=size.batch,
                eval_strategy="steps", eval_steps=size.eval_steps, save_strategy="steps",
                save_steps=size.save_steps, logging_steps=10**9, report_to="none",
                use_cpu=True, disable_tqdm=True, dataloader_num_workers=0, seed=seed)
            return Trainer(model=model, args=args, train_dataset=train,
                           eval_dataset=evaluate, callbacks=[callback])

        dry = GreenloveCallback(dry_run=True, history=False, progress=False,
                                name=f"validate {WORKLOAD}")
        start = time.perf_counter()
        trainer(dry, "dry").train()
        predict_wall_s = time.perf_counter() - start
        report = dry.report
        if report is None or report.prediction is None:
            reason = report.actual.stop_reason if report is not None else "no report"
            raise RuntimeError(f"the {WORKLOAD} dry run made no prediction ({reason})")
        full = GreenloveCallback(report, history=False, progress=False,
                                 name=f"validate {WORKLOAD}")
        trainer(full, "full").train()
    predicted = report.prediction.time_s
    return FrameworkRow(workload=WORKLOAD, method="dry_run", epochs=size.epochs,
                        predicted_s=predicted.point, low_s=predicted.low,
                        high_s=predicted.high, actual_s=full.report.actual.time_s,
                        predict_wall_s=predict_wall_s)


FRAMEWORK_CHECKS["hf"] = check
