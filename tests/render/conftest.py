"""The render tests' shared report: a pre-flight estimate with energy, clouds and a site."""

from __future__ import annotations

import pytest

import greenlove
from tests.fakes.training import SimulatedEpoch, fake_clouds, fake_energy, fake_instruments, make_loader


@pytest.fixture
def preflight(clock):
    epoch = SimulatedEpoch(clock, fixed_s=0.2, per_batch_s=0.01, noise_rel=0.02, seed=4)
    return greenlove.estimate(epoch, make_loader(), epochs=20, budget_s=6.0, progress=False,
                              instruments=fake_instruments(clock),
                              energy=fake_energy(clock), clouds=fake_clouds(),
                              site=greenlove.Site(zone="DE"))
