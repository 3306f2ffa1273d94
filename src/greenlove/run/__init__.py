"""The run stage: the harness (Benchmark and estimate), the option checks, the energy and cloud
comparison wiring, tracking the real run (track/Run, Limits), the restore of the user's state,
progress, and the Report's assembly."""

from .benchmark import Benchmark, estimate
from .limits import Limits
from .options import Options, Settings
from .track import Run, track

__all__ = ["Benchmark", "Limits", "Options", "Run", "Settings", "estimate", "track"]
