"""The model stage: from timed epochs and power traces to predictions with honest intervals.

Pure functions over raw records; every assumed constant lives in :mod:`.assumptions`.
"""

from .assumptions import (
    DRIFT_REL_ACCELERATOR,
    DRIFT_REL_CPU,
    Assumption,
    drift_rel_for,
    time_assumptions,
)
from .baselines import proportional_prediction, sqrt_e_interval
from .energy import EnergyMeasurement, EnergyPrediction, measure_energy, predict_energy
from .interval import Interval
from .roles import ROLE_LOADER_START, ROLE_OUTLIER, ROLE_STEADY, ROLE_WARMUP, classify_roles
from .time import TimePrediction, predict_time, run_interval

__all__ = [
    "DRIFT_REL_ACCELERATOR", "DRIFT_REL_CPU", "ROLE_LOADER_START", "ROLE_OUTLIER", "ROLE_STEADY",
    "ROLE_WARMUP", "Assumption", "EnergyMeasurement", "EnergyPrediction", "Interval",
    "TimePrediction", "classify_roles", "drift_rel_for", "measure_energy", "predict_energy",
    "predict_time", "proportional_prediction", "run_interval", "sqrt_e_interval", "time_assumptions",
]
