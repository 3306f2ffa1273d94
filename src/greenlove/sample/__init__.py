"""The sample stage: seeded sampled loaders that keep the user's settings, and the schedule
(which sample size next, when to stop) with the one Budget it owns."""

from .budget import BUDGET_MAX_S, BUDGET_MIN_S, BUDGET_SHARE, Budget, automatic_budget_s
from .loaders import LoaderSampler, LoaderShape, SampledLoader, shutdown_workers
from .schedule import Schedule, Step

__all__ = ["BUDGET_MAX_S", "BUDGET_MIN_S", "BUDGET_SHARE", "Budget", "LoaderSampler",
           "LoaderShape", "SampledLoader", "Schedule", "Step", "automatic_budget_s",
           "shutdown_workers"]
