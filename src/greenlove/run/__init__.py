"""The run stage: the harness (Benchmark and estimate), the option checks, the energy and cloud
comparison wiring, the restore of the user's state, progress, and the Report's assembly."""

from .benchmark import Benchmark, estimate
from .options import Options, Settings

__all__ = ["Benchmark", "Options", "Settings", "estimate"]
