"""The 2-rank torchrun (DDP) row of ``greenlove validate``: ``estimate`` inside the job against
the full run tracked in the same job.

The job runs as a subprocess (``python -m torch.distributed.run --standalone
--nproc_per_node=2 -m greenlove.validate.ddp_job``, gloo on the CPU, one thread per rank),
with a timeout so that validate can never hang on it; the row is read from the JSON files its
rank 0 writes. Importing this module registers the check as ``FRAMEWORK_CHECKS["ddp"]``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from ..report import load
from ..run.track_result import RESULT_JSON
from .ddp_job import ESTIMATE_JSON, SIZES
from .frameworks import FRAMEWORK_CHECKS, FrameworkRow

RANKS = 2
JOB_TIMEOUT_S = {"full": 600.0, "quick": 300.0, "tiny": 120.0}
"""How long the job may take (start-up included) before it is killed and the check fails."""


def job_command(out: Path, *, scale: str, seed: int) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--standalone",
            f"--nproc_per_node={RANKS}", "-m", "greenlove.validate.ddp_job",
            "--out", str(out), "--scale", scale, "--seed", str(seed)]


def job_environment() -> dict[str, str]:
    """This process's environment, with greenlove importable in the job as it is here, one
    thread per rank (two ranks share the cores) and the user's history out of reach."""
    import greenlove

    env = dict(os.environ)
    source = str(Path(greenlove.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (source, env.get("PYTHONPATH")) if p)
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def check_ddp(seed: int, scale: str) -> FrameworkRow:
    """Run the 2-rank job at ``scale`` and return its row."""
    if scale not in SIZES:
        raise ValueError(f"scale must be one of {', '.join(sorted(SIZES))}; got {scale!r}")
    with tempfile.TemporaryDirectory(prefix="greenlove-ddp-") as folder:
        out = Path(folder)
        try:
            done = subprocess.run(job_command(out, scale=scale, seed=seed), env=job_environment(),
                                  capture_output=True, text=True, timeout=JOB_TIMEOUT_S[scale])
        except subprocess.TimeoutExpired as error:
            raise RuntimeError(f"the 2-rank DDP job did not finish within "
                               f"{JOB_TIMEOUT_S[scale]:g} s") from error
        if done.returncode != 0:
            raise RuntimeError(f"the 2-rank DDP job failed (exit {done.returncode}): "
                               f"{done.stderr.strip()[-2000:]}")
        report, run = load(out / ESTIMATE_JSON), load(out / RESULT_JSON)
    if report.prediction is None or report.benchmark is None or run.actual is None:
        raise RuntimeError("the 2-rank DDP job wrote no prediction or no tracked run")
    if not run.actual.completed:
        raise RuntimeError(f"the 2-rank DDP job's full run stopped early: {run.actual.stop_reason}")
    predicted = report.prediction.time_s
    return FrameworkRow(workload="ddp", method="estimate", epochs=report.plan.epochs,
                        predicted_s=predicted.point, low_s=predicted.low, high_s=predicted.high,
                        actual_s=run.actual.time_s, predict_wall_s=report.benchmark.wall_s)


FRAMEWORK_CHECKS["ddp"] = check_ddp
