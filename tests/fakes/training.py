"""Fakes of training: an injected clock, synthetic epochs that advance it, constant-power meters,
and greenlove.estimate on that clock."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class FakeClock:
    """A clock that only moves when told to: epochs 'take' exactly what a test says."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class SimulatedEpoch:
    """train_epoch that draws every batch and costs fixed_s + per_batch_s * batches (+ noise)."""

    def __init__(self, clock: FakeClock, fixed_s: float, per_batch_s: float, *,
                 noise_rel: float = 0.0, warmup_s: float = 0.0, seed: int = 0) -> None:
        self.clock, self.fixed_s, self.per_batch_s = clock, fixed_s, per_batch_s
        self.noise_rel, self.warmup_s = noise_rel, warmup_s
        self.rng = np.random.default_rng(seed)
        self.calls = 0
        self.batches_seen: list[int] = []

    def cost(self, batches: int) -> float:
        mean = self.fixed_s + self.per_batch_s * batches
        return mean * (1 + self.noise_rel * self.rng.standard_normal())

    def __call__(self, loader) -> None:
        batches = sum(1 for _ in loader)
        self.batches_seen.append(batches)
        extra = self.warmup_s if self.calls == 0 else 0.0
        self.calls += 1
        self.clock.advance(self.cost(batches) + extra)


def make_loader(n: int = 1000, batch_size: int = 10, **kwargs) -> DataLoader:
    x = torch.arange(n, dtype=torch.float32).unsqueeze(1)
    y = torch.arange(n) % 3
    return DataLoader(TensorDataset(x, y), batch_size=batch_size, **kwargs)


def make_model() -> tuple[nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(1, 4), nn.ReLU(), nn.Linear(4, 3))
    return model, torch.optim.Adam(model.parameters(), lr=0.1)


class PerBatchEpoch:
    """train_epoch whose time passes batch by batch, plus a fixed part after the loop
    (a validation pass), optionally growing with the batches drawn (queued device work)."""

    def __init__(self, clock: FakeClock, per_batch_s: float, after_loop_s: float, *,
                 drain_per_batch_s: float = 0.0, warmup_s: float = 0.0) -> None:
        self.clock, self.per_batch_s, self.after_loop_s = clock, per_batch_s, after_loop_s
        self.drain_per_batch_s, self.warmup_s = drain_per_batch_s, warmup_s
        self.calls = 0

    def __call__(self, loader) -> None:
        if self.calls == 0:
            self.clock.advance(self.warmup_s)
        self.calls += 1
        drawn = 0
        for _ in loader:
            drawn += 1
            self.clock.advance(self.per_batch_s)
        self.clock.advance(self.after_loop_s + self.drain_per_batch_s * drawn)


class ConstantPowerMeter:
    """A meter drawing ``watts`` at all times on ``clock``: as an energy counter (J = W x s)
    or as a power reading. Its readings lie on a straight line whenever they are taken, so
    energies read off the sampler's series are exact whatever the thread's timing."""

    def __init__(self, clock, watts: float, *, counter: bool = True, name: str = "fake",
                 kind: str = "gpu") -> None:
        self.clock, self.watts, self.counter = clock, watts, counter
        self.name, self.kind = name, kind
        self.method = "fake-counter" if counter else "fake-power"
        self.note = ""
        self.closed = 0

    def read(self):
        from greenlove.measure.devices.base import MeterReading

        if self.counter:
            return MeterReading(energy_j=self.watts * self.clock())
        return MeterReading(power_w=self.watts)

    def close(self) -> None:
        self.closed += 1


def fake_energy(clock, *, idle_s: float = 0.5, interval_s: float = 0.05):
    """EnergyOptions with a 40 W counter 'GPU' and a 10 W polled 'CPU' on the fake clock."""
    from greenlove.measure.energy_options import EnergyOptions

    return EnergyOptions(interval_s=interval_s, idle_s=idle_s, meters=(
        ConstantPowerMeter(clock, 40.0, counter=True, name="GPU 0: fake", kind="gpu"),
        ConstantPowerMeter(clock, 10.0, counter=False, name="CPU: fake", kind="cpu"),
    ))


def fake_clouds(**kwargs):
    """CloudOptions with a described CPU, so tests skip the 1.5 s measurement of this machine."""
    from greenlove.compare.comparison import CloudOptions
    from greenlove.measure.local_device import LocalDevice

    device = LocalDevice(name="CPU: fake", kind="cpu", spec=None, achieved_tflops=0.5,
                         achieved_bandwidth_gbs=20.0, method="measured-cpu-standin", source="test")
    return CloudOptions(device=device, **kwargs)


def fake_instruments(clock):
    """Instruments on the fake clock: no device sync, sleeping advances the clock, periodic
    tracking work at epoch ends only, and the machine's load not read."""
    from greenlove.measure import Instruments

    return Instruments(clock=clock, synchronize=lambda: None, sleep=clock.advance, background=False,
                       cpu_snapshot=None)


def estimate_on_fake_clock(clock, epoch, loader, **kwargs):
    """greenlove.estimate on the fake clock: no sync, no sleeping, fake meters and a described
    CPU unless given; 50 epochs unless given."""
    import greenlove

    kwargs.setdefault("epochs", 50)
    kwargs.setdefault("energy", fake_energy(clock))
    kwargs.setdefault("clouds", fake_clouds())
    return greenlove.estimate(epoch, loader, progress=False, instruments=fake_instruments(clock),
                              **kwargs)


def track_on_fake_clock(clock, report=None, **kwargs):
    """greenlove.track on the fake clock: no progress line, no history, fake meters unless
    given."""
    import greenlove

    kwargs.setdefault("progress", False)
    kwargs.setdefault("history", False)
    kwargs.setdefault("energy", fake_energy(clock))
    return greenlove.track(report, instruments=fake_instruments(clock), **kwargs)
