"""The measure stage: the clock and device sync at timing edges, raw epoch and batch records, the
power sampler over the meters in devices/, the profiled training step, the local device and the
environment. Nothing here probes hardware at import."""

from .energy_options import EnergyOptions
from .local_device import LocalDevice, identify_local_device
from .power_sampler import DEFAULT_INTERVAL_S, DeviceTrace, PowerSampler
from .timing import (
    BatchRecorder,
    Clock,
    EpochRecord,
    Instruments,
    elapsed_s,
    synchronize_devices,
    training_device_kind,
)
from .workload_profile import StepProfiler, WorkloadProfile

__all__ = ["DEFAULT_INTERVAL_S", "BatchRecorder", "Clock", "DeviceTrace", "EnergyOptions",
           "EpochRecord", "Instruments", "LocalDevice", "PowerSampler", "StepProfiler",
           "WorkloadProfile", "elapsed_s", "identify_local_device", "synchronize_devices",
           "training_device_kind"]
