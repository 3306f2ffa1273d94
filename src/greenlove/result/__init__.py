"""Results: the frozen Report, its JSON form and its terminal summary."""

from .report import FitSummary, Measurements, Prediction, Report, RunPlan
from .schema import SCHEMA_VERSION, load_report

__all__ = ["SCHEMA_VERSION", "FitSummary", "Measurements", "Prediction", "Report", "RunPlan",
           "load_report"]
