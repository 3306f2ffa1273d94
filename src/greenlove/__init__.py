"""greenlove: know what a PyTorch training run will cost before you start it.

    report = greenlove.estimate(train_epoch, loader, epochs=100, restore=(model, optimizer))
    print(report)

Importing greenlove probes no hardware and makes no network call.
"""

from ._version import __version__
from .compare.comparison import CloudOptions
from .compare.site import Site
from .errors import BenchmarkError, GreenloveError, SchemaError
from .measure.energy_options import EnergyOptions
from .result import Report
from .result.schema import load_report as load
from .run.benchmark import Benchmark, estimate

__all__ = ["Benchmark", "BenchmarkError", "CloudOptions", "EnergyOptions", "GreenloveError",
           "Report", "SchemaError", "Site", "__version__", "estimate", "load"]
