"""The pre-flight in the framework's own loop (``GreenloveCallback(dry_run=True)``): the fit runs
only until the forecast of the whole fit is tight enough, or the budget is spent, then stops.

:func:`dry_run_stop` is the rule (pure): it says why to stop now, or None. :func:`prediction_of`
turns the forecast taken at that moment into the Report's ``prediction`` of the whole fit, so
that a dry run's Report is a pre-flight like ``estimate``'s (``track(report)`` and the
callbacks' ``report=`` accept it). Restoring the user's model, optimizer and RNG states is the
adapter's part (it knows the framework's objects), with :class:`~.restore.UserState`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..model import Interval
from ..model.energy import EnergyPrediction
from ..model.forecast import Forecast
from ..model.stats import z_quantile
from ..result import FitSummary, Prediction
from ..sample.budget import automatic_budget_s

TIGHT_REL = 0.05
"""The dry run stops once the remaining time's half-width from its estimates alone (the step
rate, the per-epoch cost, the extras; not the speed's wander, which no dry run can shrink) is at
most this share of the whole fit."""

MIN_BLOCKS = 5
"""...and the step rate rests on at least this many blocks of steps (batch means)."""

MAX_WAIT_S = 300.0
"""An automatic budget waits for the extras the fit has (a first validation pass, say) at most
this long; a budget the user gave is never exceeded."""


@dataclass(frozen=True)
class DryRunBudget:
    """``budget_s`` as given (None: automatic: a share of the forecast whole fit)."""

    budget_s: float | None

    def limit_s(self, forecast: Forecast) -> float | None:
        """The budget now (an automatic one follows the forecast); None before any forecast."""
        if self.budget_s is not None:
            return self.budget_s
        if forecast.time_s is None:
            return None
        return automatic_budget_s(forecast.time_s.point)

    @property
    def rule(self) -> str:
        if self.budget_s is not None:
            return f"{self.budget_s:g} s (budget_s)"
        return "automatic: 4% of the forecast whole fit, within [2 s, 60 s]"


def check_budget_s(budget_s: object) -> float | None:
    """``budget_s`` for a dry run: None (automatic) or seconds > 0."""
    if budget_s is None:
        return None
    if isinstance(budget_s, bool) or not isinstance(budget_s, (int, float)) \
            or not math.isfinite(budget_s) or budget_s <= 0:
        raise ValueError(f"budget_s must be a number of seconds > 0 or None (automatic), got "
                         f"{budget_s!r}")
    return float(budget_s)


def unseen_extras(expected: Mapping[str, int], seen: Mapping[str, int]) -> tuple[str, ...]:
    """The kinds of extra the fit will have (``expected`` > 0) that the run has not done yet."""
    return tuple(sorted(k for k, n in expected.items() if n > 0 and seen.get(k, 0) == 0))


def dry_run_stop(forecast: Forecast, budget: DryRunBudget,
                 unseen: Sequence[str]) -> str | None:
    """Why the dry run should stop now (a sentence), or None to go on."""
    elapsed = forecast.elapsed_s
    limit = budget.limit_s(forecast)
    if budget.budget_s is not None and elapsed >= budget.budget_s:
        said = f"; {', '.join(unseen)} not seen yet" if unseen else ""
        return f"dry run: budget_s ({budget.budget_s:g} s) spent{said}"
    if forecast.time_s is None or forecast.estimate_sd_s is None:
        return None
    if unseen:
        if budget.budget_s is None and elapsed >= MAX_WAIT_S:
            return (f"dry run: {', '.join(unseen)} not seen after {MAX_WAIT_S:g} s; stopped "
                    "without it")
        return None
    half = z_quantile(forecast.time_s.confidence) * forecast.estimate_sd_s
    whole = forecast.time_s.point
    blocks_ok = forecast.rate_blocks >= MIN_BLOCKS
    if whole > 0 and half / whole <= TIGHT_REL and blocks_ok:
        return (f"dry run: the forecast's estimates are within +-{half / whole:.1%} of the whole "
                f"fit after {forecast.steps_done} steps")
    if limit is not None and elapsed >= limit:
        return (f"dry run: the automatic budget ({limit:.0f} s) is spent; estimates within "
                f"+-{half / whole:.1%} of the whole fit" if whole > 0 else
                f"dry run: the automatic budget ({limit:.0f} s) is spent")
    return None


def prediction_of(forecast: Forecast, *, epochs: int, steps_per_epoch: int,
                  confidence: float) -> Prediction:
    """The whole fit as the dry run's forecast at its stop sees it, as a pre-flight Prediction
    (method "dry run"): per step ``r``, per epoch ``x``, their 1-sd uncertainties; the interval
    is the estimates' and the speed's wander over the whole fit (log-normal where it is wide)."""
    assert forecast.time_s is not None and forecast.per_step_s is not None
    r, x = forecast.per_step_s, forecast.per_epoch_s or 0.0
    r_sd, x_sd = forecast.per_step_sd_s or 0.0, forecast.per_epoch_sd_s or 0.0
    epoch_point = (steps_per_epoch - 1) * r + x + forecast.extras_per_epoch_s
    z = z_quantile(confidence)
    epoch_half = z * math.hypot((steps_per_epoch - 1) * r_sd, x_sd)
    # The real fit runs the dry run's part again: the speed's wander applies to all of it,
    # not only to the part the dry run did not reach (as it does in the live forecast).
    point = forecast.time_s.point
    estimate_sd = forecast.estimate_sd_s or 0.0
    sd_total = math.hypot(estimate_sd, (forecast.wander_rel or 0.0) * point)
    # A duration's errors are relative: a wide interval is log-normal (its low end stays above
    # zero instead of being clamped there); a narrow one is the symmetric one, near enough.
    rel = sd_total / point if point > 0 else 0.0
    whole = Interval(point, point * math.exp(-z * rel), point * math.exp(z * rel), confidence) \
        if rel > 0.1 else Interval(point, point - z * sd_total, point + z * sd_total, confidence)
    fit = FitSummary(
        method="dry run", intercept_s=x, per_batch_s=r, covariance=((x_sd**2, 0.0),
                                                                    (0.0, r_sd**2)),
        noise_rel=forecast.wander_rel or 0.0, dof=max(forecast.rate_blocks - 1, 0),
        steady_epochs=forecast.epochs_done, lack_of_fit_p=None, trend_rel_per_s=None,
        trend_p=None,
        variance_parts_s2={"fit": estimate_sd**2, "drift": ((forecast.wander_rel or 0.0)
                                                             * point) ** 2},
    )
    energy = None
    if forecast.energy_kwh is not None:
        kwh = forecast.energy_kwh
        power = forecast.power_w
        energy = EnergyPrediction(
            energy_kwh=kwh, epoch_kwh=kwh.scaled(1 / epochs), warmup_kwh=0.0,
            method="mean-power-x-time", fixed_j=0.0,
            per_batch_j=(power or 0.0) * r, mean_power_w=power or math.nan,
            idle_power_w=None, idle_share=None, devices=(), variance_parts_j2={},
            warnings=())
    return Prediction(
        time_s=whole, epoch_s=Interval(epoch_point, max(epoch_point - epoch_half, 0.0),
                                       epoch_point + epoch_half, confidence),
        warmup_s=max(whole.point - epochs * epoch_point, 0.0), fit=fit, energy=energy,
        cost_usd=forecast.cost_usd, co2_kg=forecast.co2_kg)
