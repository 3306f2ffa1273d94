"""The verdict: stay or move, with figures, by the rule in render/verdict.py."""

from __future__ import annotations

import types

from greenlove.model import Interval
from greenlove.render.verdict import verdict


def iv(point: float, rel: float = 0.1) -> Interval:
    return Interval(point, point * (1 - rel), point * (1 + rel), 0.95)


def offer(provider, gpu, speedup, cost, *, low=None, high=None, co2=None, claimed=None):
    return {"provider": provider, "gpu": gpu, "gpus": 1, "speedup": speedup,
            "speedup_interval": {"low": low if low is not None else speedup * 0.9,
                                 "high": high if high is not None else speedup * 1.1},
            "time_s": None, "cost_usd": None if cost is None else iv(cost).to_dict(),
            "co2_kg": None if co2 is None else iv(co2).to_dict(), "co2_claimed_kg": claimed}


def report(here_s, here_cost, offers):
    for o in offers:
        o["time_s"] = iv(here_s / o["speedup"]).to_dict()
    pred = types.SimpleNamespace(time_s=iv(here_s), cost_usd=iv(here_cost), co2_kg=iv(2.0))
    return types.SimpleNamespace(prediction=pred, clouds=offers, actual=None)


def test_a_long_run_moves_to_the_cheapest_faster_offer_crusoe_first_among_equals():
    r = report(72000.0, 20.0, [
        offer("Other", "H100", 10.0, 9.9),
        offer("Crusoe Cloud", "H100", 10.0, 10.2, co2=0.5, claimed=0.0),
        offer("Another", "A100", 5.0, 30.0),
    ])
    v = verdict(r)
    assert v.action == "move"
    assert v.sentences[0].startswith("Move to Crusoe Cloud H100: 10x faster (9-11x): 2 h 00 min "
                                     "instead of 20 h 00 min, for $10.20 (here $20.00)")
    assert "500 g CO2e location-based (0 g as the provider claims, market-based)" in v.text
    assert "1 other offer(s) cost about the same" in v.text


def test_a_short_run_stays_here_whatever_the_offers():
    v = verdict(report(15.0, 0.001, [offer("Crusoe Cloud", "GB200", 76.0, 0.0001)]))
    assert v.action == "stay" and "shorter than an instance's start-up" in v.text


def test_a_tie_is_not_faster_and_a_dear_offer_is_said():
    tie = verdict(report(7200.0, 1.0, [offer("X", "T4", 1.2, 0.5, low=0.8, high=1.5)]))
    assert tie.action == "stay" and "none is faster than this machine" in tie.text
    dear = verdict(report(7200.0, 1.0, [offer("X", "H100", 8.0, 5.0)]))
    assert dear.action == "stay" and dear.text.startswith("Stay here unless time matters")
    unpriced = verdict(report(7200.0, 1.0, [offer("X", "H100", 8.0, None)]))
    assert "the faster ones have no published price" in unpriced.text


def test_without_offers_or_a_prediction():
    assert verdict(report(100.0, 1.0, [])).action == "here only"
    assert verdict(types.SimpleNamespace(prediction=None, clouds=[], actual=None)) is None
