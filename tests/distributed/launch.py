"""Launch a script of scripts/ under torchrun (2 ranks, gloo, CPU) and read what each rank said.

Every launch has a timeout, so a job that hangs fails the test instead of the CI run. Each
rank writes its own findings to ``<out>/rank<r>.json``; greenlove's files go where the script
puts them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).parent / "scripts"
SOURCE = Path(__file__).resolve().parents[2] / "src"
RANKS = 2
TIMEOUT_S = 120


def torchrun(script: str, out: Path, *args: str, timeout_s: float = TIMEOUT_S) -> list[dict]:
    """Run ``scripts/<script>`` on 2 ranks with ``--out out``; every rank's findings, in order."""
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(SOURCE), env.get("PYTHONPATH")) if p)
    env["OMP_NUM_THREADS"] = "1"
    env["GREENLOVE_HOME"] = str(out / "greenlove-home")
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               f"--nproc_per_node={RANKS}", str(SCRIPTS / script), "--out", str(out), *args]
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired as error:
        pytest.fail(f"{script} did not finish within {timeout_s} s (a hang?):\n"
                    f"{(error.stderr or b'')[-3000:]!r}")
    assert done.returncode == 0, f"{script} failed ({done.returncode}):\n{done.stderr[-4000:]}"
    return [json.loads((out / f"rank{r}.json").read_text()) for r in range(RANKS)]
