"""Offers that are alike said once; rankings that include this machine and show ties."""

from __future__ import annotations

import dataclasses

from greenlove.model import Interval
from greenlove.render.groups import group_offers, offer_name, rankings, speedup_band


def _offer(provider, gpu, speedup, band=None, cost=None, co2=None, gpus=1, here_s=100.0):
    return {"provider": provider, "gpu": gpu, "gpus": gpus, "speedup": speedup,
            "speedup_interval": {"low": band[0], "high": band[1]} if band else
            {"low": None, "high": None},
            "time_s": {"point": here_s / speedup, "low": 0.8 * here_s / speedup,
                       "high": 1.2 * here_s / speedup},
            "cost_usd": None if cost is None else {"point": cost, "low": cost, "high": cost},
            "co2_kg": None if co2 is None else {"point": co2, "low": co2, "high": co2}}


def test_overlapping_speedups_are_one_group_and_a_chain_is_cut() -> None:
    offers = [_offer("A", "X", 20, (18, 22), cost=5.0), _offer("B", "Y", 19, (17, 21), cost=4.0),
              _offer("C", "Z", 15, (12, 17.5), cost=1.0),   # overlaps B but not A
              _offer("Crusoe Cloud", "W", 5, (4, 6), cost=0.5)]
    groups = group_offers(offers)
    assert [[o["provider"] for o in g.offers] for g in groups] == [["B", "A"], ["C"],
                                                                   ["Crusoe Cloud"]]
    assert groups[0].shared == (18, 21) and groups[0].speedups == (19, 20)
    assert offer_name(groups[0].cheapest) == "B Y"


def test_speedups_without_an_interval_are_alike_within_five_percent() -> None:
    offers = [_offer("P", f"G{i}", 12.0 + 0.05 * i, cost=1.0 + i) for i in range(6)]
    offers.append(_offer("P", "Big", 40.0, cost=9.0))
    groups = group_offers(offers)
    assert [g.size for g in groups] == [1, 6]
    low, high = speedup_band(offers[0])
    assert high / low == 1.05 + 1e-12 or abs(high / low - 1.05) < 1e-9


def test_crusoe_is_named_first_among_equal_costs_in_a_group() -> None:
    offers = [_offer("Lambda", "H100", 10, (9, 11), cost=1.00),
              _offer("Crusoe Cloud", "H100", 10, (9, 11), cost=1.03),
              _offer("RunPod", "H100", 10, (9, 11), cost=1.20)]
    group, = group_offers(offers)
    assert group.cheapest["provider"] == "Crusoe Cloud"
    assert group.gpus == ("H100",)


def test_rankings_include_here_and_share_places_when_tied(preflight) -> None:
    pred = preflight.prediction
    here_s = pred.time_s.point
    offers = (_offer("A", "X", 1.02, (0.9, 1.2), cost=9.0, co2=1e-3, here_s=here_s),
              _offer("B", "Y", 3.0, (2.5, 3.5), cost=9.2, co2=2e-3, here_s=here_s),
              _offer("C", "Z", 3.1, (2.8, 3.6), cost=20.0, co2=5e-3, here_s=here_s))
    report = dataclasses.replace(
        preflight, clouds=offers,
        prediction=dataclasses.replace(pred, cost_usd=Interval(50.0, 40.0, 60.0, 0.95),
                                       co2_kg=Interval(1e-4, 8e-5, 1.2e-4, 0.95)))
    ranked = rankings(report)
    fastest = [(e.place, e.name) for e in ranked["fastest"]]
    assert fastest == [(1, "C Z"), (1, "B Y"), (3, "A X"), (3, "here")]   # A's 0.9-1.2x holds 1
    assert list(dict.fromkeys(e.place for e in ranked["fastest"])) == [1, 3]
    cheapest = [(e.place, e.tied, e.name) for e in ranked["cheapest"]]
    assert cheapest[:2] == [(1, True, "A X"), (1, True, "B Y")] and cheapest[-1][2] == "here"
    assert ranked["lowest_co2"][0].here and not ranked["lowest_co2"][0].tied


def test_here_is_always_in_a_ranking_even_below_the_cut(preflight) -> None:
    here_s = preflight.prediction.time_s.point
    offers = tuple(_offer("P", f"G{i}", 10 + 3 * i, (9 + 3 * i, 11 + 3 * i), cost=1.0,
                          here_s=here_s) for i in range(8))
    ranked = rankings(dataclasses.replace(preflight, clouds=offers), limit=3)
    assert ranked["fastest"][-1].here and ranked["fastest"][-1].place == 9
    assert len(ranked["fastest"]) == 4


def test_when_gpu_size_does_not_matter_it_is_said_once() -> None:
    from greenlove.render.groups import alike_sentence

    offers = [_offer("P", f"G{i}", 12.0 + 0.05 * i, cost=1.0 + i) for i in range(6)]
    sentence = alike_sentence(group_offers(offers))
    assert sentence == ("6 of 6 offers, on 6 different GPUs, run it at about the same speed "
                        "(12-12.2x): this model is too small for a bigger GPU to help, so pick "
                        "the cheapest: P G0, $1.00.")
    spread = [_offer("P", f"G{i}", 2.0 ** i, (0.9 * 2 ** i, 1.1 * 2 ** i)) for i in range(6)]
    assert alike_sentence(group_offers(spread)) is None
