"""greenlove: know what a PyTorch training run will cost before you start it.

    report = greenlove.estimate(train_epoch, loader, epochs=100, restore=(model, optimizer))
    print(report)

Importing greenlove probes no hardware and makes no network call.
"""

from ._version import __version__
from .benchmark import Benchmark, estimate
from .compare import CloudOptions
from .energy_options import EnergyOptions
from .errors import BenchmarkError, GreenloveError, SchemaError
from .report import Report
from .report.jsonio import load_report as load
from .site import Site

__all__ = ["Benchmark", "BenchmarkError", "CloudOptions", "EnergyOptions", "GreenloveError",
           "Report", "SchemaError", "Site", "__version__", "estimate", "load"]
