"""What is alike, said once: cloud offers whose speed-ups cannot be told apart form one group,
and the rankings (fastest, cheapest, lowest CO2e) include this machine and show ties as ties.
Pure: it reads the report's offers (JSON form) and the prediction, never measures.

Two offers are alike when their speed-ups' 95% intervals share a value: the measurements cannot
say which is faster (a speed-up without an interval counts as alike within TIE_REL). A group is
built greedily from the fastest offer down and takes an offer while *every* member's interval
still shares a value with it (the intersection stays non-empty), so a chain of overlapping
intervals never merges a 5x offer with a 20x one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..result import ReportData
from .format import money, ratio_span

TIE_REL = 0.05
"""Costs or CO2e within this share of each other are a tie (prices are list prices, the energy
model's error is larger than that)."""

HERE = "here"


def point_of(value: Mapping[str, Any] | None) -> float | None:
    """An interval's (JSON form) finite point, or None."""
    if not value:
        return None
    point = value.get("point")
    return float(point) if isinstance(point, (int, float)) and math.isfinite(point) else None


def has_band(offer: Mapping[str, Any]) -> bool:
    """Whether the offer's speed-up has a measured 95% interval (the fitted model's does; a
    roofline from a CPU has none)."""
    band = offer.get("speedup_interval") or {}
    low, high = band.get("low"), band.get("high")
    return isinstance(low, (int, float)) and isinstance(high, (int, float)) and high >= low


def speedup_band(offer: Mapping[str, Any]) -> tuple[float, float]:
    """The offer's speed-up 95% interval (low, high). Where it has none, the band that makes
    two speed-ups within TIE_REL of each other alike: no method tells 12.3x from 12.4x."""
    point = float(offer.get("speedup") or 0.0)
    if has_band(offer):
        band = offer["speedup_interval"]
        return float(band["low"]), float(band["high"])
    half = math.sqrt(1 + TIE_REL)
    return point / half, point * half


def offer_name(offer: Mapping[str, Any]) -> str:
    """'Crusoe Cloud H100 SXM', with ' x8' for a multi-GPU instance."""
    gpus = offer.get("gpus") or 1
    return f"{offer['provider']} {offer['gpu']}" + (f" x{gpus}" if gpus > 1 else "")


def is_crusoe(offer: Mapping[str, Any]) -> bool:
    return str(offer.get("provider", "")).startswith("Crusoe")


def cost_equals(offers: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The priced offers within TIE_REL of the cheapest, Crusoe's first, then by cost (empty:
    no offer has a price)."""
    priced = [o for o in offers if point_of(o.get("cost_usd")) is not None]
    if not priced:
        return []
    least = min(point_of(o["cost_usd"]) for o in priced)
    equals = [o for o in priced if point_of(o["cost_usd"]) <= least * (1 + TIE_REL)]
    return sorted(equals, key=lambda o: (not is_crusoe(o), point_of(o["cost_usd"])))


def cheapest(offers: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The cheapest priced offer, Crusoe's first among those within TIE_REL of it (None: no
    offer has a price)."""
    equals = cost_equals(offers)
    return equals[0] if equals else None


@dataclass(frozen=True)
class OfferGroup:
    """Offers whose speed-ups cannot be told apart, fastest first."""

    offers: tuple[Mapping[str, Any], ...]
    shared: tuple[float, float]            # the speed-up all members' intervals hold
    cheapest: Mapping[str, Any] | None     # priced, Crusoe first among equals; None: no price

    @property
    def size(self) -> int:
        return len(self.offers)

    @property
    def speedups(self) -> tuple[float, float]:
        """The lowest and highest speed-up point in the group."""
        points = [float(o.get("speedup") or 0.0) for o in self.offers]
        return min(points), max(points)

    @property
    def times(self) -> tuple[float, float] | None:
        """The lowest and highest predicted time (s) in the group (None: none has one)."""
        points = [t for t in (point_of(o.get("time_s")) for o in self.offers) if t is not None]
        return (min(points), max(points)) if points else None

    @property
    def crusoe_best(self) -> Mapping[str, Any] | None:
        """Crusoe's cheapest offer in the group (its first where none is priced), where the
        group's cheapest is someone else's: the one to name beside it (None: nothing to add)."""
        crusoe = [o for o in self.offers if is_crusoe(o)]
        if not crusoe or (self.cheapest is not None and is_crusoe(self.cheapest)):
            return None
        return cheapest(crusoe) or crusoe[0]

    @property
    def gpus(self) -> tuple[str, ...]:
        """The distinct GPUs in the group, in order."""
        names = []
        for o in self.offers:
            gpu = str(o["gpu"]) + (f" x{o['gpus']}" if (o.get("gpus") or 1) > 1 else "")
            if gpu not in names:
                names.append(gpu)
        return tuple(names)


def _by_cost(offer: Mapping[str, Any]) -> tuple[bool, float, bool]:
    """Cheapest first, Crusoe first among equal costs, unpriced last."""
    cost = point_of(offer.get("cost_usd"))
    return cost is None, cost if cost is not None else 0.0, not is_crusoe(offer)


def group_offers(offers: Sequence[Mapping[str, Any]]) -> tuple[OfferGroup, ...]:
    """The offers in groups of alike speed-ups, the fastest group first; within a group, the
    offers by cost (Crusoe first among equal costs, unpriced last)."""
    remaining = sorted(offers, key=lambda o: -float(o.get("speedup") or 0.0))
    groups = []
    while remaining:
        members = [remaining.pop(0)]
        low, high = speedup_band(members[0])
        keep = []
        for offer in remaining:
            o_low, o_high = speedup_band(offer)
            if max(low, o_low) <= min(high, o_high):
                members.append(offer)
                low, high = max(low, o_low), min(high, o_high)
            else:
                keep.append(offer)
        remaining = keep
        members.sort(key=_by_cost)
        groups.append(OfferGroup(tuple(members), (low, high), cheapest(members)))
    return tuple(groups)


@dataclass(frozen=True)
class Ranked:
    """One entry of a ranking: an offer or this machine (``offer`` None), its place (ties share
    one) and the figure ranked."""

    place: int
    tied: bool
    name: str
    value: float
    offer: Mapping[str, Any] | None

    @property
    def here(self) -> bool:
        return self.offer is None


def _places(entries: list[tuple[float, str, Mapping[str, Any] | None]],
            ties: Any) -> list[Ranked]:
    """Competition ranking (1, 1, 3) where ``ties(leader, entry)`` says an entry cannot be told
    apart from the first entry of the current tie block."""
    ranked: list[Ranked] = []
    leader = None
    for index, (figure, name, offer) in enumerate(entries):
        if leader is None or not ties(leader, (figure, name, offer)):
            leader, place = (figure, name, offer), index + 1
        ranked.append(Ranked(place, False, name, figure, offer))
    counts: dict[int, int] = {}
    for entry in ranked:
        counts[entry.place] = counts.get(entry.place, 0) + 1
    return [Ranked(e.place, counts[e.place] > 1, e.name, e.value, e.offer) for e in ranked]


def rankings(report: ReportData, limit: int = 5) -> dict[str, list[Ranked]]:
    """Fastest, cheapest and lowest-CO2e (location-based), this machine included, the first
    ``limit`` places (ties at the cut kept). Fastest: tied when the speed-ups' intervals share a
    value (here is exactly 1x); cost and CO2e: tied within TIE_REL."""
    pred = report.prediction
    offers = list(report.clouds)
    here = {key: getattr(pred, key, None) for key in ("time_s", "cost_usd", "co2_kg")}

    def bands(entry: tuple[float, str, Mapping[str, Any] | None]) -> tuple[float, float]:
        return (1.0, 1.0) if entry[2] is None else speedup_band(entry[2])

    def same_speed(a: Any, b: Any) -> bool:
        (a_low, a_high), (b_low, b_high) = bands(a), bands(b)
        return max(a_low, b_low) <= min(a_high, b_high)

    def close(a: Any, b: Any) -> bool:
        return b[0] <= a[0] * (1 + TIE_REL) + 1e-15

    result = {}
    for kind, key, ties in (("fastest", "time_s", same_speed), ("cheapest", "cost_usd", close),
                            ("lowest_co2", "co2_kg", close)):
        entries = [(point_of(o.get(key)), offer_name(o), o) for o in offers]
        entries = [e for e in entries if e[0] is not None]
        mine = here[key]
        if mine is not None and math.isfinite(mine.point):
            entries.append((mine.point, HERE, None))
        entries.sort(key=lambda e: (e[0], e[2] is not None, not (e[2] and is_crusoe(e[2]))))
        ranked = _places(entries, ties)
        cut = [e for e in ranked if e.place <= limit]
        if not any(e.here for e in cut):      # where this machine stands is always said
            cut += [e for e in ranked if e.here]
        result[kind] = cut
    return result


ALIKE_SHARE = 0.75
"""When the fastest group holds this share of the offers, GPU size does not matter: said."""


def alike_sentence(groups: Sequence[OfferGroup]) -> str | None:
    """The one insight a wall of rows hides: when most offers, on several GPUs, cannot be told
    apart in speed, a bigger GPU buys nothing and the cheapest of them is the pick (None when
    that is not so)."""
    total = sum(g.size for g in groups)
    if not groups or total < 4:
        return None
    first = groups[0]
    if first.size < ALIKE_SHARE * total or len(first.gpus) < 4:
        return None
    speed = ratio_span(*first.speedups, sep="-")
    sentence = (f"{first.size} of {total} offers, on {len(first.gpus)} different GPUs, run it at "
                f"about the same speed ({speed}): this model is too small for a bigger GPU to "
                "help")
    if first.cheapest is None:
        return sentence + "."
    return (sentence + f", so pick the cheapest: {offer_name(first.cheapest)}, "
            f"{money(first.cheapest['cost_usd']['point'])}.")
