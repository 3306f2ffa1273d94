"""The benchmark's budget: the wall seconds it may spend, everything included, and its rule.

One frozen :class:`Budget` travels from the user's ``budget_s`` into the schedule, which owns it
from then on (an automatic budget is fixed by the probe and predicted again each round); the
progress bar and the report read it there.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

BUDGET_SHARE = 0.04
BUDGET_MIN_S = 2.0
BUDGET_MAX_S = 60.0


def automatic_budget_s(predicted_run_s: float) -> float:
    """The automatic budget: a small share of the predicted run, within sensible bounds."""
    return min(max(BUDGET_SHARE * predicted_run_s, BUDGET_MIN_S), BUDGET_MAX_S)


def describe_budget_rule() -> str:
    return (f"{BUDGET_SHARE:.0%} of the full run predicted by a short probe, "
            f"clamped to [{BUDGET_MIN_S:g} s, {BUDGET_MAX_S:g} s]")


@dataclass(frozen=True)
class Budget:
    """``value_s``: the budget in wall seconds; None while an automatic one is not yet fixed."""

    value_s: float | None
    automatic: bool

    @classmethod
    def of(cls, budget_s: float | None) -> Budget:
        """The budget for the user's ``budget_s`` (None: automatic)."""
        return cls(value_s=budget_s, automatic=budget_s is None)

    def for_run_s(self, predicted_run_s: float) -> Budget:
        """An automatic budget fixed (or fixed again) for a run predicted to take this long;
        a given budget stays as it is."""
        if not self.automatic:
            return self
        return replace(self, value_s=automatic_budget_s(predicted_run_s))

    @property
    def rule(self) -> str:
        return describe_budget_rule() if self.automatic else "given by the user (budget_s)"
