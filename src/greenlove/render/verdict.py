"""The answer first: one or two sentences, with figures, on where to run (here or which cloud
offer), for the terminal summary and the page alike. Pure: it reads the report, never measures.

The rule (README, "The verdict"):

* an offer is faster than here when even the low end of its speed-up's 95% interval is above 1;
  it is a tie when that interval holds 1;
* among the faster offers with a published price, the cheapest is the candidate; offers whose
  cost is within ``TIE_REL`` of it are its equals, and Crusoe's is named first among them;
* "move" when the candidate saves time and costs no more than ``MAX_COST_RATIO`` times the run
  here; else "stay here", with the reason;
* a run shorter than ``SHORT_RUN_S`` here is "stay here" whatever the offers: an instance's
  start-up and minimum billing would take longer than the run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..result import ReportData
from .format import duration, mass, money, ratio_span
from .groups import cost_equals, group_offers, has_band, is_crusoe, offer_name, point_of

SHORT_RUN_S = 600.0
"""Below this (10 min here), an instance's start-up (minutes) and minimum billing outweigh the
run: staying is the answer."""

MAX_COST_RATIO = 2.0
"""A faster offer is worth moving to while it costs at most this many times the run here."""


@dataclass(frozen=True)
class Verdict:
    """Where to run, and why, in words (``action``: "stay", "move" or "here only").

    ``short`` is the same answer in one or two short lines for a card ("Stay here", then the
    reason in a few words); ``offer`` the cloud offer the sentences name (its JSON form; None
    where they name none) and ``offer_role`` what it is to the verdict ("the offer to move
    to", "the cheapest faster offer", "the fastest offer")."""

    action: str
    sentences: tuple[str, ...]
    short: tuple[str, ...] = ()
    offer: Mapping[str, Any] | None = field(default=None, compare=False)
    offer_role: str = ""

    @property
    def text(self) -> str:
        return " ".join(self.sentences)

    @property
    def headline(self) -> str:
        """The answer in a few words: "Stay here", "Move to Crusoe Cloud H100 SXM: 12x faster"."""
        return self.short[0] if self.short else self.text


def _faster(offer: Mapping[str, Any]) -> bool | None:
    """True: faster than here (its speed-up's interval above 1, or its point where it has no
    interval); None: a tie; False: slower."""
    speedup = offer.get("speedup") or 0.0
    low, high = (speedup, speedup) if not has_band(offer) else \
        (offer["speedup_interval"]["low"], offer["speedup_interval"]["high"])
    if low > 1:
        return True
    if high < 1:
        return False
    return None


def verdict(report: ReportData) -> Verdict | None:
    """The verdict of a pre-flight report (None for a report without a prediction)."""
    pred = report.prediction
    if pred is None:
        return None
    here_s = pred.time_s.point
    here_cost = pred.cost_usd.point if pred.cost_usd is not None else None
    here_co2 = pred.co2_kg.point if pred.co2_kg is not None else None
    here = (f"on this machine the run takes {duration(here_s)}"
            + (f", costs {money(here_cost)}" if here_cost is not None else "")
            + (f" and emits {mass(here_co2)} CO2e" if here_co2 is not None else ""))
    offers = list(report.clouds)
    if not offers:
        return Verdict("here only", (f"Run it here: {here} (no cloud comparison in this "
                                     "report).",),
                       ("Run it here", "no cloud comparison in this report"))
    faster = [o for o in offers if _faster(o)]
    if here_s < SHORT_RUN_S:
        fastest = group_offers(offers)[0]
        # the fastest alike offers are equals: Crusoe's fastest is named among them
        crusoe = [o for o in fastest.offers if is_crusoe(o)]
        best = max(crusoe or fastest.offers, key=lambda o: o.get("speedup") or 0.0)
        tied = f", tied with {fastest.size - 1} other offers" if fastest.size > 1 else ""
        return Verdict("stay", (
            f"Stay here: {here}. The fastest offer ({offer_name(best)}, "
            f"{best.get('speedup', 0):.3g}x{tied}) would not pay: at {duration(here_s)} the run "
            "is shorter than an instance's start-up and minimum billing.",),
            ("Stay here", f"at {duration(here_s)} the run is shorter than a cloud "
                          "instance's start-up and minimum billing"),
            best, "the fastest offer")
    priced = [o for o in faster if point_of(o.get("cost_usd")) is not None]
    if not priced:
        said = "none is faster than this machine" if not faster else \
            "the faster ones have no published price"
        return Verdict("stay", (f"Stay here: {here}; of {len(offers)} cloud offers, {said}.",),
                       ("Stay here", f"of {len(offers)} cloud offers, {said}"))
    equals = cost_equals(priced)
    pick = equals[0]
    cost = point_of(pick["cost_usd"])
    co2 = point_of(pick.get("co2_kg"))
    band = pick.get("speedup_interval") or {}
    spread = (f" ({ratio_span(band['low'], band['high'], sep='-')})"
              if has_band(pick) and band["high"] > band["low"] else "")
    faster_by = f"{pick['speedup']:.3g}x faster"
    figures = (f"{faster_by}{spread}: {duration(point_of(pick['time_s']))} "
               f"instead of {duration(here_s)}, for {money(cost)}"
               + (f" (here {money(here_cost)})" if here_cost is not None else "")
               + (f", {mass(co2)} CO2e location-based" if co2 is not None else "")
               + (f" ({mass(pick['co2_claimed_kg'])} as the provider claims, market-based)"
                  if isinstance(pick.get("co2_claimed_kg"), (int, float)) else ""))
    others = f"; {len(equals) - 1} other offer(s) cost about the same" if len(equals) > 1 else ""
    if here_cost is not None and cost > MAX_COST_RATIO * here_cost:
        return Verdict("stay", (
            f"Stay here unless time matters: {here}. The cheapest faster offer, "
            f"{offer_name(pick)}, is {figures}{others}.",),
            ("Stay here unless time matters",
             f"{offer_name(pick)} is {faster_by} but costs {money(cost)} (here {money(here_cost)})"),
            pick, "the cheapest faster offer")
    return Verdict("move", (f"Move to {offer_name(pick)}: {figures}{others}.",
                            f"For comparison, {here}."),
                   (f"Move to {offer_name(pick)}: {faster_by}",
                    f"{duration(point_of(pick['time_s']))} instead of {duration(here_s)}, for "
                    f"{money(cost)}" + (f" (here {money(here_cost)})" if here_cost is not None
                                        else "")),
                   pick, "the offer to move to")
