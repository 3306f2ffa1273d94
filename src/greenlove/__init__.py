"""greenlove: know what a PyTorch training run will cost before you start it.

    report = greenlove.estimate(train_epoch, loader, epochs=100, restore=(model, optimizer))
    print(report)

Importing greenlove probes no hardware and makes no network call.
"""

from ._version import __version__
from .compare import CloudOptions, Site
from .errors import BenchmarkError, GreenloveError, SchemaError
from .measure import EnergyOptions
from .report import Report, load
from .run import Benchmark, estimate

__all__ = ["Benchmark", "BenchmarkError", "CloudOptions", "EnergyOptions", "GreenloveError",
           "Report", "SchemaError", "Site", "__version__", "estimate", "load"]
