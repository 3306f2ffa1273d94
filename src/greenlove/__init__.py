"""greenlove: know what a PyTorch training run will cost before you start it.

    report = greenlove.estimate(train_epoch, loader, epochs=100, restore=(model, optimizer))
    print(report)
    with greenlove.track(report) as run:      # then watch the real run
        ...

Importing greenlove probes no hardware and makes no network call.
"""

from ._version import __version__
from .compare import CloudOptions, Site
from .errors import BenchmarkError, GreenloveError, GreenloveWarning, SchemaError
from .measure import EnergyOptions
from .report import Report, load
from .run import Benchmark, Limits, Run, estimate, track

__all__ = ["Benchmark", "BenchmarkError", "CloudOptions", "EnergyOptions", "GreenloveError",
           "GreenloveWarning", "Limits", "Report", "Run", "SchemaError", "Site", "__version__",
           "estimate", "load", "track"]
