"""estimate and track inside a 2-rank DDP job: each rank reports what it got and saw."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from common import finish, same_state, start, tiny_job, user_state  # noqa: E402

import greenlove  # noqa: E402

rank, out = start()
model, optimizer, loader, sampler, train_epoch = tiny_job()
shard = [int(i) for i in sampler]
seen: set[int] = set()


def watched_epoch(batches) -> None:
    seen.update(int(i) for i in batches.sampler)   # the indices each sampled loader serves
    train_epoch(batches)


before = user_state(model, optimizer)
report = greenlove.estimate(watched_epoch, loader, epochs=20, restore=(model, optimizer),
                            budget_s=2.0, progress=True, energy=greenlove.EnergyOptions(idle_s=0.1))
restored = same_state(before, user_state(model, optimizer))
report.save(out / f"estimate-rank{rank}.json")     # rank 0 alone writes

with greenlove.track(report, out=out / f"track-rank{rank}", progress=True,
                     limits=greenlove.Limits(max_s=1e-6), on_limit="stop") as run:
    epochs_run = 0
    for epoch in range(20):
        sampler.set_epoch(epoch)
        train_epoch(run.watch(loader))
        run.epoch_end()
        epochs_run += 1
        if run.should_stop:
            break

finish(out, rank, {
    "restored": restored,
    "sampled_from_own_shard": seen <= set(shard) and bool(seen),
    "full_batches": report.plan.batches_per_epoch,
    "len_loader": len(loader),
    "world": report.environment.get("world"),
    "prediction": [report.prediction.time_s.point, report.prediction.time_s.low,
                   report.prediction.time_s.high],
    "epoch_s": [r.epoch_s for r in report.benchmark.epochs],
    "devices": [d.name for d in report.benchmark.energy.devices],
    "cloud_gpus": sorted({o["gpus"] for o in report.clouds}),
    "summary": str(report),
    "epochs_run": epochs_run,
    "should_stop": run.should_stop,
    "track_epochs_done": run.result.actual.epochs_done,
})
