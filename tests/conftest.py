"""Shared fixtures; the fakes themselves live in tests/fakes/."""

from __future__ import annotations

import pytest

from tests.fakes.training import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(autouse=True)
def greenlove_home(tmp_path_factory, monkeypatch):
    """Every test's run history in a folder of its own: never the user's real record."""
    from greenlove.history import HISTORY_ENV

    folder = tmp_path_factory.mktemp("greenlove-home")
    monkeypatch.setenv(HISTORY_ENV, str(folder))
    return folder
