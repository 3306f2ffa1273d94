"""Results: the frozen Report, its JSON form and its terminal summary."""

from .jsonio import SCHEMA_VERSION, load_report
from .result import FitSummary, Measurements, Prediction, Report, RunPlan

__all__ = ["SCHEMA_VERSION", "FitSummary", "Measurements", "Prediction", "Report", "RunPlan",
           "load_report"]
