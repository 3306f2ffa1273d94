"""The result stage: frozen data classes of what was planned, measured and predicted (no I/O),
and the versioned JSON schema, their only writer and reader."""

from .actual import Actual, ActualExtra, Check, ForecastPoint
from .report import FitSummary, Measurements, Prediction, ReportData, RunPlan
from .schema import SCHEMA_VERSION, load_report, report_from_dict, report_to_dict, save_report

__all__ = ["SCHEMA_VERSION", "Actual", "ActualExtra", "Check", "FitSummary", "ForecastPoint", "Measurements",
           "Prediction", "ReportData", "RunPlan",
           "load_report", "report_from_dict", "report_to_dict", "save_report"]
