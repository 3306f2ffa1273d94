"""From power traces and timed epochs to each epoch's energy, and to the full run's energy.

Pure functions. Energy per epoch is modelled like time: ``energy_j(x) = fixed_j + per_batch_j * x``
for an epoch of x batches, fitted robustly across the sample sizes on the epochs the time model
called steady; the warm-up epochs' excess is added once; the interval has the same parts as the
time interval (fitted parameters, epoch-to-epoch noise, drift, trend, warm-up). Where too few
epochs have every device's energy, the fallback is mean power x predicted time, labelled.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..measure.power_sampler import DeviceTrace
from ..measure.timing import EpochRecord
from .interval import Interval
from .roles import ROLE_LOADER_START, ROLE_STEADY, ROLE_WARMUP
from .stats import fit_line, z_quantile
from .time import TimePrediction, run_interval

J_PER_KWH = 3.6e6

MIN_INTERVALS_PER_EPOCH = 5
"""The energy line is fitted only when steady epochs last this many sampler intervals;
shorter epochs use mean power x predicted time (their single epochs' energies are mostly
interpolation between readings)."""
MIN_ENERGY_LINE_DOF = 4
"""The energy line is used only with at least this many degrees of freedom (6 steady epochs):
with fewer, Student t (4.3 at 2) makes its interval span several times the point, while mean
power x the time prediction is well determined."""
TIMELINE_POINTS = 240


@dataclass(frozen=True)
class DeviceEnergy:
    """One device as measured during the benchmark (joules, watts, seconds)."""

    name: str
    kind: str                                  # "gpu", "cpu", "ram"
    method: str                                # "nvml-energy-counter", "rapl", "tdp-estimate", ...
    note: str
    epoch_energy_j: tuple[float | None, ...]   # per timed epoch in order; None: not covered
    idle_power_w: float | None                 # mean power over the idle baseline
    mean_power_w: float | None                 # mean power over the steady epochs
    timeline_s: tuple[float, ...]              # bin mid-times, s after the benchmark began
    timeline_w: tuple[float, ...]              # mean power in each bin
    ended: str | None = None                   # why its series stopped early, if it did

    @property
    def measured(self) -> bool:
        return any(e is not None for e in self.epoch_energy_j)


@dataclass(frozen=True)
class EnergyMeasurement:
    """Every device's energy during the benchmark, the idle baseline and the fallbacks used."""

    interval_s: float                          # the sampler's reading interval
    idle_window_s: tuple[float, float] | None  # idle baseline, s after the benchmark began
    devices: tuple[DeviceEnergy, ...]
    fallbacks: tuple[str, ...]                 # what could not be measured, and what was used

    def epoch_total_j(self, index: int) -> float | None:
        """All measured devices' energy in timed epoch ``index``; None if one lacks it."""
        values = [d.epoch_energy_j[index] for d in self.devices if d.measured]
        if not values or any(v is None for v in values):
            return None
        return float(sum(values))


@dataclass(frozen=True)
class DevicePrediction:
    name: str
    kind: str
    method: str
    energy_kwh: float            # this device's share of the predicted point
    mean_power_w: float | None
    idle_power_w: float | None


@dataclass(frozen=True)
class EnergyPrediction:
    """The full run's predicted energy (kWh) and what it rests on."""

    energy_kwh: Interval
    epoch_kwh: Interval
    warmup_kwh: float
    method: str                  # "energy-line" or "mean-power-x-time"
    fixed_j: float               # per-epoch energy whatever the size (J)
    per_batch_j: float           # energy of one batch (J)
    mean_power_w: float          # all measured devices, steady epochs
    idle_power_w: float | None   # all measured devices, idle baseline
    idle_share: float | None     # share of the predicted energy the machine would draw idling
    devices: tuple[DevicePrediction, ...]
    variance_parts_j2: dict[str, float]
    warnings: tuple[str, ...]


def measure_energy(
    traces: Sequence[DeviceTrace],
    records: Sequence[EpochRecord],
    roles: Sequence[str],
    *,
    origin_s: float,
    idle_window_s: tuple[float, float] | None,
    interval_s: float,
    fallbacks: Sequence[str] = (),
) -> EnergyMeasurement:
    """Each device's energy per timed epoch, idle and steady mean power, and power timeline.

    ``origin_s`` is the benchmark's start on the sampler's clock; records' ``started_s`` and the
    idle window are relative to it.
    """
    devices = []
    end_s = max((r.started_s + r.epoch_s for r in records), default=0.0)
    for trace in traces:
        epoch_j = tuple(trace.energy_between_j(origin_s + r.started_s,
                                               origin_s + r.started_s + r.epoch_s) for r in records)
        idle_w = None
        if idle_window_s is not None and idle_window_s[1] > idle_window_s[0]:
            idle_j = trace.energy_between_j(origin_s + idle_window_s[0], origin_s + idle_window_s[1])
            if idle_j is not None:
                idle_w = idle_j / (idle_window_s[1] - idle_window_s[0])
        mean_w = mean_power_w(epoch_j, records, roles)
        t_s, w = trace.timeline(origin_s, origin_s + end_s, TIMELINE_POINTS)
        devices.append(DeviceEnergy(
            name=trace.name, kind=trace.kind, method=trace.method, note=trace.note,
            epoch_energy_j=epoch_j, idle_power_w=idle_w, mean_power_w=mean_w,
            timeline_s=t_s, timeline_w=w, ended=trace.ended,
        ))
    return EnergyMeasurement(interval_s=interval_s, idle_window_s=idle_window_s,
                             devices=tuple(devices), fallbacks=tuple(fallbacks))


def mean_power_w(epoch_energy_j: Sequence[float | None], records: Sequence[EpochRecord],
                 roles: Sequence[str]) -> float | None:
    """Energy over time of the steady epochs a device covered (all it covered if none), W."""
    covered = [i for i, role in enumerate(roles)
               if role == ROLE_STEADY and epoch_energy_j[i] is not None] \
        or [i for i, e in enumerate(epoch_energy_j) if e is not None]
    seconds = sum(records[i].epoch_s for i in covered)
    if not covered or seconds <= 0:
        return None
    return sum(epoch_energy_j[i] for i in covered) / seconds


def measurement_warnings(measurement: EnergyMeasurement, records: Sequence[EpochRecord]) -> list[str]:
    warnings = list(measurement.fallbacks)
    for device in measurement.devices:
        if device.ended is None:
            continue
        missing = sum(e is None for e in device.epoch_energy_j)
        warnings.append(
            f"{device.name} stopped answering during the benchmark ({device.ended}); its energy "
            f"is missing for {missing} of {len(records)} timed epochs and the energy prediction "
            "uses only the epochs it covered."
        )
    return warnings


def predict_energy(
    measurement: EnergyMeasurement,
    records: Sequence[EpochRecord],
    time: TimePrediction,
    *,
    full_batches: int,
    epochs: int,
    confidence: float,
    drift_rel: float,
) -> EnergyPrediction | None:
    """The full run's energy, or None when no device was measured at all."""
    measured = [d for d in measurement.devices if d.measured]
    if not measured or not records:
        return None
    roles = time.roles
    totals = [measurement.epoch_total_j(i) for i in range(len(records))]
    steady = [i for i, role in enumerate(roles) if role == ROLE_STEADY and totals[i] is not None
              and totals[i] > 0]
    warnings: list[str] = []
    device_power_w = [mean_power_w(d.epoch_energy_j, records, roles) or 0.0 for d in measured]
    mean_w = float(sum(device_power_w))
    x_full = float(full_batches)

    fit = None
    seconds = [records[i].epoch_s for i in steady]
    long_enough = bool(seconds) and float(np.median(seconds)) >= MIN_INTERVALS_PER_EPOCH \
        * measurement.interval_s
    if len(steady) >= 3 and long_enough:
        fit = fit_line([records[i].sample_batches for i in steady], [totals[i] for i in steady])
        if fit.epoch_s(x_full) <= 0 or fit.slope_s < 0 or fit.dof < MIN_ENERGY_LINE_DOF:
            fit = None
    if fit is not None:
        method, fixed_j, per_batch_j = "energy-line", fit.intercept_s, fit.slope_s
        epoch_point = fit.epoch_s(x_full)
        excess = [totals[i] - (fixed_j + per_batch_j * records[i].sample_batches)
                  for i, role in enumerate(roles) if role == ROLE_WARMUP and totals[i] is not None]
        loader = [totals[i] - (fixed_j + per_batch_j * records[i].sample_batches)
                  for i, role in enumerate(roles)
                  if role == ROLE_LOADER_START and totals[i] is not None]
        warmup_j = max(sum(excess), 0.0) + (max(float(np.median(loader)), 0.0) if loader else 0.0)
        total, epoch, parts = run_interval(
            epochs=epochs, epoch_point=epoch_point, var_epoch_param=fit.var_epoch_s(x_full),
            noise_rel=fit.noise_rel, dof=fit.dof, inflation=time.autocorrelation_inflation,
            drift_rel=drift_rel, trend_rel=time.trend_rel, warmup=warmup_j, confidence=confidence,
        )
    else:
        method = "mean-power-x-time"
        if len(steady) < MIN_ENERGY_LINE_DOF + 2:
            warnings.append(
                f"Only {len(steady)} steady epochs had every device's energy, too few to fit "
                f"energy against sample size: the energy is the measured mean power "
                f"({mean_w:.3g} W) times the predicted time."
            )
        # Epochs shorter than a few sampler intervals each see one or two readings: their own
        # energies are interpolations, but the mean power over all of them is well measured.
        power_rel = _power_se_rel(totals, records, steady, measurement.interval_s)
        fixed_j, per_batch_j = mean_w * time.fixed_s, mean_w * time.per_batch_s
        warmup_j = mean_w * time.warmup_s
        total = _scaled(time.time_s, mean_w, power_rel, confidence)
        epoch = _scaled(time.epoch_s, mean_w, power_rel, confidence)
        parts = {k: v * mean_w**2 for k, v in time.variance_parts_s2.items()}
        parts["power"] = (power_rel * total.point) ** 2

    energy_kwh = total.scaled(1 / J_PER_KWH)
    epoch_kwh = epoch.scaled(1 / J_PER_KWH)
    idle_values = [d.idle_power_w for d in measured]
    idle_power_w = float(sum(idle_values)) if all(v is not None for v in idle_values) else None
    idle_share = None
    if idle_power_w is not None and total.point > 0:
        idle_share = min(idle_power_w * time.time_s.point / total.point, 1.0)
    devices = _device_shares(measured, device_power_w, steady or range(len(records)),
                             energy_kwh.point)
    return EnergyPrediction(
        energy_kwh=energy_kwh, epoch_kwh=epoch_kwh, warmup_kwh=warmup_j / J_PER_KWH,
        method=method, fixed_j=fixed_j, per_batch_j=per_batch_j, mean_power_w=mean_w,
        idle_power_w=idle_power_w, idle_share=idle_share, devices=devices,
        variance_parts_j2=parts, warnings=tuple(warnings),
    )


def _device_shares(measured: Sequence[DeviceEnergy], power_w: Sequence[float],
                   indices: Sequence[int] | range, total_kwh: float) -> tuple[DevicePrediction, ...]:
    sums = [sum(d.epoch_energy_j[i] or 0.0 for i in indices) for d in measured]
    grand = sum(sums)
    return tuple(
        DevicePrediction(name=d.name, kind=d.kind, method=d.method,
                         energy_kwh=total_kwh * s / grand if grand > 0 else math.nan,
                         mean_power_w=w or None, idle_power_w=d.idle_power_w)
        for d, s, w in zip(measured, sums, power_w)
    )


def _power_se_rel(totals: Sequence[float | None], records: Sequence[EpochRecord],
                  steady: Sequence[int], interval_s: float) -> float:
    """Relative standard error of the mean power over the steady epochs.

    Epoch powers within one sampler interval share their readings, so the number of
    independent looks is at most the steady time over the interval."""
    powers = [totals[i] / records[i].epoch_s for i in steady
              if totals[i] is not None and records[i].epoch_s > 0]
    if len(powers) < 2 or np.mean(powers) <= 0:
        return 0.0
    looks = min(len(powers), max(1.0, sum(records[i].epoch_s for i in steady) / interval_s))
    return float(np.std(powers, ddof=1) / np.mean(powers) / math.sqrt(looks))


def _scaled(time_interval: Interval, power_w: float, power_rel: float, confidence: float
            ) -> Interval:
    """Power x a time interval, the power's own uncertainty added in quadrature (z)."""
    point = power_w * time_interval.point
    if point <= 0:
        return Interval(point, point, point, confidence)
    z = z_quantile(confidence)
    low_rel = math.hypot(1 - time_interval.low / time_interval.point, z * power_rel)
    high_rel = math.hypot(time_interval.high / time_interval.point - 1, z * power_rel)
    return Interval(point, max(point * (1 - low_rel), 0.0), point * (1 + high_rel), confidence)
