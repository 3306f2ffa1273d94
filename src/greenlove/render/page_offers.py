"""The page's "here or in the cloud?" section as rows: the offers grouped by alike speed-ups, and
three pre-rendered orders (by time, cost and CO2e, this machine included, ties sharing a place)
that CSS-only tabs switch between. Sources become numbered notes. Only layout: the figures are
the report's."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..result import ReportData
from .charts import bar_share
from .format import duration, mass, money, ratio, ratio_span, span
from .groups import group_offers, has_band, is_crusoe, offer_name, point_of, rankings
from .notes import Notes

ORDER_ROWS = 10
"""Rows in each sorted order; the rest stay in the JSON (and in the groups above)."""

ORDERS = (("time", "fastest", "time_s", "Time"), ("cost", "cheapest", "cost_usd", "Cost"),
          ("co2", "lowest_co2", "co2_kg", "CO2e"))
"""(tab id, ranking, figure key, label)."""


def _speedup_text(offer: Mapping[str, Any]) -> tuple[str, str]:
    """('12.3x', '11.8–12.9x') or ('12.3x', '') where there is no interval."""
    if not has_band(offer):
        return ratio(offer.get("speedup") or 0.0), ""
    band = offer["speedup_interval"]
    spread = ratio_span(band["low"], band["high"])
    return ratio(offer.get("speedup") or 0.0), ("" if spread == ratio(band["low"]) else spread)


def _figures(entry: Mapping[str, Any]) -> dict[str, str]:
    """The time, cost and CO2e texts of an offer or of here, point and interval."""
    out = {}
    for key, fmt in (("time_s", duration), ("cost_usd", money), ("co2_kg", mass)):
        value = entry.get(key)
        point = point_of(value)
        out[key] = "—" if point is None else fmt(point)
        out[key + "_span"] = "" if point is None else span(value, fmt)
    return out


def _offer_notes(offer: Mapping[str, Any], notes: Notes) -> tuple[int, ...]:
    speedup_sources = [s.get("source") for s in offer.get("speedups", [])[:1]]
    return notes.cite_all(*speedup_sources, offer.get("price_source"), offer.get("pue_source"),
                          offer.get("co2_method"), offer.get("co2_claim"))


def _how(offer: Mapping[str, Any]) -> tuple[str, ...]:
    """How the offer's figures were made, one sentence each (its sources are the notes)."""
    speedups = list(offer.get("speedups", []))
    lines = []
    if speedups:
        lines.append(f"speed-up {speedups[0].get('method', '?')}: {speedups[0].get('detail', '')}")
    if len(speedups) > 1:
        lines.append("other estimates: " + ", ".join(
            f"{ratio(s.get('value') or 0.0)} {s.get('method', '?')}" for s in speedups[1:]))
    lines += [f"energy: {offer.get('energy_method', '?')}", f"CO2e: {offer.get('co2_method', '?')}"]
    if offer.get("co2_claim"):
        lines.append(f"claimed: {offer['co2_claim']}")
    return tuple(lines)


def _row(entry: Mapping[str, Any] | None, local: Mapping[str, Any], notes: Notes,
         scale: Mapping[str, float]) -> dict[str, Any]:
    """One table row: an offer, or this machine (``entry`` None)."""
    if entry is None:
        figures = _figures(local)
        name = f"Here: {local.get('device', {}).get('name', 'this machine')}"
        speed, band, method, refs, crusoe = "1x", "", local.get("device", {}).get("method", ""), (), False
        claimed = "—"
        source = local
        how = ()
    else:
        figures = _figures(entry)
        name = f"{entry['provider']}: {entry['gpu']}" + (
            f" ×{entry['gpus']}" if (entry.get("gpus") or 1) > 1 else "")
        speed, band = _speedup_text(entry)
        method, refs, crusoe = entry.get("speedup_method", ""), _offer_notes(entry, notes), \
            is_crusoe(entry)
        claimed = "—" if entry.get("co2_claimed_kg") is None else mass(entry["co2_claimed_kg"])
        source = entry
        how = _how(entry)
    bars = {key: bar_share(point_of(source.get(key)), scale[key]) for key in scale}
    return {"name": name, "here": entry is None, "crusoe": crusoe, "speedup": speed,
            "speedup_band": band, "method": method, "refs": refs, "claimed": claimed, "how": how,
            "bars": bars, "spot": money(point_of(entry.get("cost_spot_usd")))
            if entry is not None and point_of(entry.get("cost_spot_usd")) is not None else "",
            **figures}


def _named(offer: Mapping[str, Any] | None) -> dict[str, str] | None:
    """An offer as the group line names it: its name and cost."""
    if offer is None:
        return None
    cost = point_of(offer.get("cost_usd"))
    return {"name": offer_name(offer),
            "cost": money(cost) if cost is not None else "no published price"}


def cloud_section(report: ReportData, notes: Notes) -> dict[str, Any]:
    """What the clouds section shows: ``groups`` (alike offers), ``orders`` (three sorted
    tables, this machine's row among them), ``local`` and the count."""
    offers = list(report.clouds)
    local = report.comparison.get("local", {}) or {}
    if not offers:
        return {"count": 0}
    entries = [*offers, local]

    def largest(key: str) -> float:
        values = [point_of(e.get(key)) for e in entries]
        return max((v for v in values if v is not None), default=0.0)

    scale = {key: largest(key) for key in ("time_s", "cost_usd", "co2_kg")}
    groups = []
    for group in group_offers(offers):
        groups.append({
            "size": group.size, "gpus": group.gpus, "speedups": ratio_span(*group.speedups),
            "times": span(group.times, duration) if group.times else "—",
            "cheapest": _named(group.cheapest), "crusoe": _named(group.crusoe_best),
            "rows": [_row(o, local, notes, scale) for o in group.offers],
        })
    ranked = rankings(report, limit=ORDER_ROWS)
    orders = []
    for tab, kind, key, label in ORDERS:
        rows = []
        entries = ranked.get(kind, [])
        # ties at the cut are not all listed (the groups below hold them); here always is
        shown_entries = entries[:ORDER_ROWS] + [e for e in entries[ORDER_ROWS:] if e.here]
        for entry in shown_entries:
            row = _row(entry.offer, local, notes, scale)
            row["place"] = f"={entry.place}" if entry.tied else str(entry.place)
            rows.append(row)
        shown = sum(1 for r in rows if not r["here"])
        orders.append({"tab": tab, "label": label, "key": key, "rows": rows,
                       "hidden": len([o for o in offers if point_of(o.get(key)) is not None]) - shown,
                       "unpriced": len([o for o in offers if point_of(o.get(key)) is None])})
    return {"count": len(offers), "groups": groups, "orders": orders,
            "local": local}
