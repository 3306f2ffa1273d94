"""The live forecast of a run in progress: from its own steps and epochs, blended with the
pre-flight prediction while little of the run is seen. Pure functions over a StepSnapshot.

The model (README, "Track the real run"):

* an epoch costs ``(S - 1) * r + x``: S steps at ``r`` seconds per step (delivery to delivery,
  inside the epoch's loop) and ``x`` per epoch outside them (loader start, the last step,
  validation, checkpoints). The run's one-off warm-up is in the time already elapsed: the first
  ``warmup_steps`` steps are left out of ``r``.
* ``r`` from the run: the mean over its steady steps; its standard error by batch means (the
  steps cut into up to ``BLOCKS`` consecutive blocks: neighbouring steps are alike, blocks much
  less so). ``x`` from completed epochs (the first one left out while later ones exist).
* the pre-flight's ``per_batch_s`` and ``fixed_s`` are a prior on ``r`` and ``x``, combined by
  precision: weights 1/variance, the prior's variance being its own fit's plus the drift between
  a benchmark and a run (``drift_rel``), the run's its standard error. The prior fades as steps
  accumulate and is gone in practice after a few blocks.
* what is left: ``remaining = R_r * r + R_x * x`` (the epoch in progress owes only the part
  after its loop). Its sd: the two estimates' sds added (``R_r * sd_r + R_x * sd_x``: one
  machine speed drives both, so their errors are not taken as independent), and, in quadrature,
  the speed's wander over the rest of the run: ``wander_rel`` of the remaining time, 1 sd: the
  drift term (the machine's record, else the default), or the spread between the run's blocks
  where wider, counted to the extent that the forecast rests on the run's own speed (times
  ``1 - prior_weight``: before any step the forecast is the pre-flight's, with the pre-flight's
  interval). The interval is ``point +- z * sd``: it narrows as the run nears its end, and as
  the machine's record narrows the drift term.
* extras (validation passes, checkpoint saves, evaluations every N steps), stamped apart by
  the adapters or ``run.extra(kind)``, are left out of ``r`` and ``x`` and forecast per kind:
  the occurrences still to come times the kind's typical duration, with the spread of its
  occurrences (:mod:`.extras`). A kind expected but not seen yet cannot be forecast: it is
  said in the basis and left out.
* energy: joules so far plus the recent mean power times the remaining time (interval from the
  time's interval and the power's block-to-block spread).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..measure.steps import StepSnapshot
from .energy import J_PER_KWH
from .extras import extras_left
from .interval import Interval
from .stats import z_quantile

BLOCKS = 10
"""Batch means: the steady steps are cut into at most this many consecutive blocks."""

MIN_BLOCK_STEPS = 3
"""A block holds at least this many step intervals."""



@dataclass(frozen=True)
class Prior:
    """The pre-flight prediction's rates (s): per step, per epoch outside the steps, 1-sd each."""

    per_step_s: float
    per_step_sd_s: float
    per_epoch_s: float
    per_epoch_sd_s: float
    extras_s: Mapping[str, float] = field(default_factory=dict)   # typical s per kind of extra
    extras_per_step: Mapping[str, float] = field(default_factory=dict)   # occurrences per step


@dataclass(frozen=True)
class Forecast:
    """The run's forecast now (seconds, kWh, USD, kg CO2e). An Interval is None where unknown."""

    done: float                      # fraction of the planned steps done, 0..1
    elapsed_s: float
    steps_done: int
    epochs_done: int
    remaining_s: Interval | None
    time_s: Interval | None          # the whole run
    energy_kwh: Interval | None      # the whole run
    cost_usd: Interval | None
    co2_kg: Interval | None
    energy_so_far_kwh: float | None
    cost_so_far_usd: float | None
    co2_so_far_kg: float | None
    per_step_s: float | None         # the rate used (s per step)
    per_epoch_s: float | None        # per-epoch cost outside the steps used (s)
    prior_weight: float              # weight of the pre-flight in the per-step rate, 0..1
    wander_rel: float | None         # the speed's wander used, 1 sd, relative
    basis: str                       # what the forecast rests on, in words
    extras_remaining_s: float = 0.0  # of the remaining time, the extras' part (validation ...)
    estimate_sd_s: float | None = None   # sd of the remaining time from the estimates alone
    #                                      (no wander): how well the run's own rates are known
    per_step_sd_s: float | None = None   # 1-sd uncertainty of per_step_s
    per_epoch_sd_s: float | None = None  # 1-sd uncertainty of per_epoch_s
    rate_blocks: int = 0                 # blocks of steps the rate rests on (batch means)
    extras_per_epoch_s: float = 0.0      # the extras' time per epoch over the whole run
    power_w: float | None = None         # the recent mean power the energy forecast uses (W)


@dataclass(frozen=True)
class RateEstimate:
    mean_s: float
    se_s: float | None               # None: too few blocks to tell
    spread_rel: float | None         # block-to-block sd of the rate, relative
    blocks: int
    steps: int


def step_rate(snapshot: StepSnapshot, *, warmup_steps: int) -> RateEstimate | None:
    """Seconds per step from the deliveries inside epochs, after the first ``warmup_steps``."""
    segments: list[tuple[float, int]] = []     # (seconds, step intervals), in time order
    points = _epoch_points(snapshot)
    for epoch_points in points:
        for (t0, s0), (t1, s1) in zip(epoch_points, epoch_points[1:]):
            if s0 < warmup_steps:
                continue
            if s1 > s0 and t1 >= t0:
                segments.append((t1 - t0, s1 - s0))
    steps = sum(n for _, n in segments)
    if steps < 2:
        return None
    seconds = sum(t for t, _ in segments)
    mean = seconds / steps
    blocks = _blocks(segments, max(MIN_BLOCK_STEPS, math.ceil(steps / BLOCKS)))
    if len(blocks) < 3 or mean <= 0:
        return RateEstimate(mean, None, None, len(blocks), steps)
    rates = np.array([t / n for t, n in blocks])
    weights = np.array([n for _, n in blocks], dtype=float)
    spread = math.sqrt(float(np.average((rates - mean) ** 2, weights=weights))
                       * len(blocks) / (len(blocks) - 1))
    return RateEstimate(mean, spread / math.sqrt(len(blocks)), spread / mean, len(blocks), steps)


def _epoch_points(snapshot: StepSnapshot) -> list[list[tuple[float, int]]]:
    """Per epoch, (time less the extras so far, steps so far) at its kept marks and its last
    step: the steps' own clock, on which a validation between two steps takes no time."""
    by_epoch: dict[int, list[tuple[float, int]]] = {}
    for t, steps, epoch, extra in snapshot.marks:
        by_epoch.setdefault(epoch, []).append((t - extra, steps))
    ends: dict[int, tuple[float, int]] = {}
    total = 0
    for mark in snapshot.epochs:
        total += mark.steps
        if mark.last_step_s is not None:
            ends[mark.index] = (mark.last_step_s - mark.last_step_extra_s, total)
    if snapshot.last_step_s is not None and snapshot.epoch_steps > 0:
        ends[len(snapshot.epochs)] = (snapshot.last_step_s - snapshot.last_step_extra_s,
                                      snapshot.steps)
    out = []
    for epoch in sorted(set(by_epoch) | set(ends)):
        pts = by_epoch.get(epoch, [])
        if epoch in ends and (not pts or pts[-1] != ends[epoch]):
            pts = [*pts, ends[epoch]]
        out.append(pts)
    return out


def _blocks(segments: Sequence[tuple[float, int]], size: int) -> list[tuple[float, int]]:
    blocks, t_acc, n_acc = [], 0.0, 0
    for t, n in segments:
        t_acc, n_acc = t_acc + t, n_acc + n
        if n_acc >= size:
            blocks.append((t_acc, n_acc))
            t_acc, n_acc = 0.0, 0
    if n_acc >= size / 2 or not blocks:
        if n_acc:
            blocks.append((t_acc, n_acc))
    elif n_acc:
        t_last, n_last = blocks[-1]
        blocks[-1] = (t_last + t_acc, n_last + n_acc)
    return blocks


def epoch_extra(snapshot: StepSnapshot, per_step_s: float
                ) -> tuple[float, float | None, float] | None:
    """(mean, standard error or None, mean part before the first step) of the per-epoch cost
    outside the steps and the extras, ``period - extras - (steps - 1) * per_step_s``, over
    completed epochs (the first left out when later ones exist: it holds the warm-up)."""
    epochs = [e for e in snapshot.epochs if e.steps >= 1]
    if not epochs:
        return None
    if len(epochs) > 1:
        epochs = epochs[1:]
    extras = [e.period_s - e.extra_s - (e.steps - 1) * per_step_s for e in epochs]
    before = [e.first_step_s - e.start_s for e in epochs if e.first_step_s is not None]
    mean = float(np.mean(extras))
    se = float(np.std(extras, ddof=1) / math.sqrt(len(extras))) if len(extras) >= 2 else None
    return mean, se, float(np.mean(before)) if before else 0.0


def _combine(live: float, live_var: float | None, prior: float | None,
             prior_var: float | None) -> tuple[float, float, float]:
    """(value, variance, prior weight): precision-weighted; either side may be missing."""
    if prior is None or prior_var is None:
        return live, live_var if live_var is not None else math.inf, 0.0
    if live_var is None:
        return prior, prior_var, 1.0
    if live_var <= 0:
        return live, 0.0, 0.0
    if prior_var <= 0:
        return prior, 0.0, 1.0
    w_prior = (1 / prior_var) / (1 / prior_var + 1 / live_var)
    value = w_prior * prior + (1 - w_prior) * live
    return value, 1 / (1 / prior_var + 1 / live_var), w_prior


def wander(spread_rel: float | None, blocks: int, drift_rel: float) -> float:
    """How far the speed of the rest of the run may sit from the speed seen so far (1 sd,
    relative): the machine's drift term (its own record's, where the history has one), or the
    spread between the run's blocks where that is wider. Never less than the drift: blocks of
    seconds do not show the slow waves of a shared machine, which move a run's speed by as much
    as they move a benchmark's (on this project's VMs, the second half of a run was up to 15%
    off its first)."""
    if spread_rel is None or blocks < 2:
        return drift_rel
    return max(drift_rel, spread_rel)


def forecast_run(snapshot: StepSnapshot, *, epochs: int, steps_per_epoch: int | None,
                 prior: Prior | None, drift_rel: float, confidence: float = 0.95,
                 energy_so_far_j: float | None = None, power_w: Sequence[float] = (),
                 usd_per_kwh: float | None = None, kg_co2_per_kwh: float | None = None,
                 warmup_steps: int | None = None, max_steps: int | None = None,
                 expected_extras: Mapping[str, int] | None = None) -> Forecast:
    """The forecast of a run of ``epochs`` epochs of ``steps_per_epoch`` steps, now.

    ``max_steps``: the run ends after this many steps where that comes first (a trainer's
    ``max_steps``). ``expected_extras``: for a kind of extra, how many occurrences the whole
    run has (from the framework's schedule); kinds not named are forecast from their rate per
    step so far. ``power_w``: the mean power in consecutive equal time blocks of the run so far
    (W), recent last; ``usd_per_kwh`` and ``kg_co2_per_kwh`` (PUE included) turn energy into
    cost and CO2.
    """
    steps_total = None if steps_per_epoch is None else epochs * steps_per_epoch
    if max_steps is not None:
        steps_total = max_steps if steps_total is None else min(steps_total, max_steps)
    done_epochs = len(snapshot.epochs)
    in_epoch = snapshot.epoch_steps
    elapsed = snapshot.elapsed_s
    energy_kwh_now = None if energy_so_far_j is None else energy_so_far_j / J_PER_KWH
    so_far = _money_and_co2(energy_kwh_now, usd_per_kwh, kg_co2_per_kwh)
    complete = done_epochs >= epochs or (
        steps_total is not None and snapshot.steps >= steps_total and in_epoch == 0
        and done_epochs >= 1)
    done = 1.0 if complete else (
        min(snapshot.steps / steps_total, 1.0) if steps_total else 0.0)

    def result(remaining: Interval | None, per_step: float | None, per_epoch: float | None,
               prior_weight: float, wander_rel: float | None, basis: str,
               extras_s: float = 0.0, estimate_sd: float | None = None,
               rate_sds: tuple[float | None, float | None] = (None, None),
               blocks: int = 0) -> Forecast:
        total = None if remaining is None else Interval(
            elapsed + remaining.point, elapsed + remaining.low, elapsed + remaining.high,
            remaining.confidence)
        energy = _energy(energy_so_far_j, power_w, remaining, drift_rel)
        cost = co2 = None
        if energy is not None:
            cost = energy.scaled(usd_per_kwh) if usd_per_kwh is not None else None
            co2 = energy.scaled(kg_co2_per_kwh) if kg_co2_per_kwh is not None else None
        return Forecast(done=done, elapsed_s=elapsed, steps_done=snapshot.steps,
                        epochs_done=done_epochs, remaining_s=remaining, time_s=total,
                        energy_kwh=energy, cost_usd=cost, co2_kg=co2,
                        energy_so_far_kwh=energy_kwh_now, cost_so_far_usd=so_far[0],
                        co2_so_far_kg=so_far[1], per_step_s=per_step, per_epoch_s=per_epoch,
                        prior_weight=prior_weight, wander_rel=wander_rel, basis=basis,
                        extras_remaining_s=extras_s, estimate_sd_s=estimate_sd,
                        per_step_sd_s=rate_sds[0], per_epoch_sd_s=rate_sds[1],
                        rate_blocks=blocks,
                        extras_per_epoch_s=(snapshot.extra_total_s + extras_s) / max(epochs, 1),
                        power_w=_recent_power(power_w))

    if complete:
        return result(Interval(0.0, 0.0, 0.0, confidence), None, None, 0.0, None,
                      "the run is complete", 0.0, 0.0)
    if steps_per_epoch is None or steps_total is None:
        return result(None, None, None, 0.0, None,
                      "steps per epoch unknown until the first epoch ends")
    if warmup_steps is None:
        warmup_steps = default_warmup_steps(steps_per_epoch)
    rate = step_rate(snapshot, warmup_steps=warmup_steps)
    prior_r = prior_r_var = prior_x = prior_x_var = None
    if prior is not None:
        prior_r = prior.per_step_s
        prior_r_var = prior.per_step_sd_s**2 + (drift_rel * prior.per_step_s) ** 2
        prior_x = prior.per_epoch_s
        prior_x_var = prior.per_epoch_sd_s**2 + (drift_rel * abs(prior.per_epoch_s)) ** 2
    if rate is None and prior is None:
        return result(None, None, None, 0.0, None, "too few steps yet")
    live_r = rate.mean_s if rate is not None else math.nan
    live_r_var = None if rate is None or rate.se_s is None else rate.se_s**2
    if rate is not None and rate.se_s is None and prior is None:
        live_r_var = (0.5 * rate.mean_s) ** 2    # a handful of steps: very rough, said below
    r, r_var, w_prior = _combine(live_r, live_r_var, prior_r, prior_r_var)

    extra = epoch_extra(snapshot, r)
    parts = []
    x_before = 0.0      # of x, what an epoch spends before its first step (unknown: none)
    if extra is not None:
        x_live, x_se, x_before = extra
        x_var_live = x_se**2 if x_se is not None else (0.5 * abs(x_live)) ** 2 + (0.1 * r) ** 2
        x, x_var, _ = _combine(x_live, x_var_live, prior_x, prior_x_var)
    elif prior is not None:
        x, x_var = prior_x, prior_x_var
        parts.append("per-epoch cost from the pre-flight")
    else:
        # Unseen until an epoch ends: one step's worth (the step whose end no stamp shows, or
        # whose start none does), of which the current epoch shows what came before its first.
        x, x_var = r, r_var
        if in_epoch >= 1 and snapshot.epoch_first_step_s is not None:
            x_before = snapshot.epoch_first_step_s - snapshot.epoch_start_s
        parts.append("per-epoch cost outside the steps unseen until an epoch ends")

    r_count, x_count = _counts_left(steps_total - snapshot.steps, in_epoch, steps_per_epoch)
    point = r_count * r + x_count * x
    if in_epoch >= 1:
        point -= min(max(x_before, 0.0), max(x, 0.0))    # this epoch's start is paid
    # What the step or epoch part in progress has already spent is in the elapsed time (the
    # extras since then are not: they are counted as extras).
    open_s = 0.0 if snapshot.open_extra is None else max(snapshot.now_s - snapshot.open_extra[1],
                                                          0.0)
    if in_epoch >= 1 and snapshot.last_step_s is not None:
        since = snapshot.now_s - snapshot.last_step_s - (
            snapshot.extra_total_s - snapshot.last_step_extra_s)
    else:
        since = snapshot.now_s - snapshot.epoch_start_s - (
            snapshot.extra_total_s - snapshot.epoch_start_extra_s)
    since -= open_s
    in_steps = 1 <= in_epoch < steps_per_epoch
    point = max(point - min(max(since, 0.0), max(r if in_steps else x, 0.0)), 0.0)
    extras_s, extras_var, unseen = extras_left(
        snapshot, expected_extras or {}, steps_left=steps_total - snapshot.steps,
        steps_done=snapshot.steps, open_s=open_s,
        prior_s=prior.extras_s if prior is not None else {},
        prior_per_step=prior.extras_per_step if prior is not None else {},
        epochs_left=max(x_count - 1, 0))
    point += extras_s
    if unseen:
        parts.append(f"{', '.join(unseen)} expected but not seen yet: not counted")
    spread = rate.spread_rel if rate is not None else None
    blocks = rate.blocks if rate is not None else 0
    wander_rel = wander(spread, blocks, drift_rel)
    estimate_sd = math.sqrt((r_count * math.sqrt(r_var) + x_count * math.sqrt(max(x_var, 0.0)))
                            ** 2 + extras_var)
    var = estimate_sd**2 + ((1 - w_prior) * wander_rel * point) ** 2
    half = z_quantile(confidence) * math.sqrt(var)
    remaining = Interval(point, max(point - half, 0.0), point + half, confidence)
    if rate is None:
        basis = "the pre-flight prediction (no steady step yet)"
    elif w_prior >= 0.01:
        basis = f"the run's steps blended with the pre-flight ({w_prior:.0%} weight)"
    else:
        basis = "the run's own steps"
    if rate is not None and rate.se_s is None:
        parts.append("few steps yet")
    if parts:
        basis += "; " + "; ".join(parts)
    return result(remaining, r, x, w_prior, wander_rel, basis, extras_s, estimate_sd,
                  (math.sqrt(r_var) if math.isfinite(r_var) else None,
                   math.sqrt(max(x_var, 0.0)) if math.isfinite(x_var) else None), blocks)


def _counts_left(steps_left: int, in_epoch: int, steps_per_epoch: int) -> tuple[int, int]:
    """(step intervals, epoch parts) still to pay for ``steps_left`` more steps, the current
    epoch having ``in_epoch`` steps done. An epoch of k steps costs k - 1 intervals and one
    epoch part (its first delivery and its end belong to the epoch part)."""
    steps_left = max(steps_left, 0)
    r_count = x_count = 0
    if in_epoch >= 1:                 # the epoch in progress: its end is still to come
        here = min(max(steps_per_epoch - in_epoch, 0), steps_left)
        r_count, x_count = here, 1
        steps_left -= here
    full, last = divmod(steps_left, steps_per_epoch)
    r_count += full * (steps_per_epoch - 1) + (last - 1 if last else 0)
    x_count += full + (1 if last else 0)
    return r_count, x_count


def default_warmup_steps(steps_per_epoch: int) -> int:
    """Steps at the run's start left out of the step rate (CUDA/JIT warm-up, caches)."""
    return max(1, min(20, steps_per_epoch // 10))


def _recent_power(power_w: Sequence[float]) -> float | None:
    """The mean of the recent half of the power blocks (W), None where there is none."""
    recent = [p for p in power_w[len(power_w) // 2:] if math.isfinite(p)]
    return float(np.mean(recent)) if recent else None


def _energy(energy_so_far_j: float | None, power_w: Sequence[float],
            remaining: Interval | None, drift_rel: float) -> Interval | None:
    if energy_so_far_j is None or remaining is None:
        return None
    so_far = energy_so_far_j / J_PER_KWH
    recent = [p for p in power_w[len(power_w) // 2:] if math.isfinite(p)]
    if not recent:
        return None if remaining.point > 0 else Interval(so_far, so_far, so_far,
                                                         remaining.confidence)
    power = float(np.mean(recent))
    spread = float(np.std(recent, ddof=1)) / power if len(recent) >= 2 and power > 0 else None
    power_rel = wander(spread, len(recent), drift_rel)
    z = z_quantile(remaining.confidence)
    time_sd = (remaining.high - remaining.point) / z if z > 0 else 0.0
    point = power * remaining.point
    sd = math.sqrt((power * time_sd) ** 2 + (power_rel * point) ** 2)
    return Interval(so_far + point / J_PER_KWH, so_far + max(point - z * sd, 0.0) / J_PER_KWH,
                    so_far + (point + z * sd) / J_PER_KWH, remaining.confidence)


def _money_and_co2(kwh: float | None, usd_per_kwh: float | None,
                   kg_co2_per_kwh: float | None) -> tuple[float | None, float | None]:
    if kwh is None:
        return None, None
    return (None if usd_per_kwh is None else kwh * usd_per_kwh,
            None if kg_co2_per_kwh is None else kwh * kg_co2_per_kwh)
