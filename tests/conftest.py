"""Shared fixtures; the fakes themselves live in tests/fakes/."""

from __future__ import annotations

import pytest

from tests.fakes.training import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
