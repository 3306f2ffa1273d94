"""measure.ranks in a real 2-rank gloo job: the world, each collective, a disagreement and a
rank that never comes (a short timeout); then estimate on ranks that disagree on epochs (one
launch for both: starting a job costs more than either)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import torch.distributed as dist  # noqa: E402
from common import finish, start, tiny_job  # noqa: E402

import greenlove  # noqa: E402
from greenlove.errors import BenchmarkError  # noqa: E402
from greenlove.measure.ranks import RankGroup, current_world  # noqa: E402

rank, out = start()
world = current_world()
group = RankGroup.open(timeout_s=2.0)
found: dict = {"world": [world.rank, world.size, world.local_rank, world.local_size, world.nodes,
                         world.is_writer]}
found["gather"] = group.gather("a test value", f"rank {rank}")
found["broadcast"] = group.broadcast("a test decision", f"decided by rank {rank}")
group.barrier("a test barrier")
try:
    group.agree("the test's arguments", {"epochs": 5 + rank, "seed": 0})
    found["agree"] = None
except BenchmarkError as error:
    found["agree"] = str(error)
group.agree("the test's arguments", {"epochs": 5, "seed": 0})   # the same: no error
if rank == 0:   # rank 1 never comes to this barrier: it waits on the job's own group instead
    try:
        group.barrier("a barrier rank 1 skips")
        found["lonely"] = None
    except BenchmarkError as error:
        found["lonely"] = str(error)
dist.barrier()
group.close()

model, optimizer, loader, _, train_epoch = tiny_job()
found["estimate_error"] = None
try:
    greenlove.estimate(train_epoch, loader, epochs=10 + rank, restore=(model, optimizer),
                       budget_s=2.0, progress=False)
except BenchmarkError as error:
    found["estimate_error"] = str(error)

# Last (a failed group creation leaves the ranks' group counts apart): rank 1 never creates
# greenlove's group, so rank 0's creation times out.
found["lonely_open"] = None
if rank == 0:
    try:
        RankGroup.open(timeout_s=2.0)
    except BenchmarkError as error:
        found["lonely_open"] = str(error)
dist.barrier()
finish(out, rank, found)
