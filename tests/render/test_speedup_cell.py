"""The cloud table's speed-up cell: the figure, its 95% interval where it has one, the method."""

from __future__ import annotations

from greenlove.render.summary_full import _speedup_cell


def test_the_speedup_cell_shows_its_interval_and_method():
    offer = {"speedup": 9.512, "speedup_method": "fitted-model",
             "speedup_interval": {"low": 8.1, "high": 11.24, "confidence": 0.95}}
    assert _speedup_cell(offer) == "9.51x (8.1-11.2) (fitted)"
    exact = {"speedup": 9.5, "speedup_method": "user-measured",
             "speedup_interval": {"low": 9.5, "high": 9.5}}
    assert _speedup_cell(exact) == "9.5x (yours)"
    old = {"speedup": 3.0, "speedup_method": "roofline"}       # a report from before intervals
    assert _speedup_cell(old) == "3x (roofline)"
