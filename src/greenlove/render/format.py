"""Human-readable numbers with their units."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

# number and si are defined in the bottom layer, where every stage can use them, and are part
# of this module's interface: one formatter for every number greenlove shows
from .._units import _sig3, number, si  # noqa: F401

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
"""C0 and C1 control characters (ESC among them) and bidirectional overrides; tab and newline
are kept."""


def plain(text: Any) -> str:
    """``text`` as plain characters for a terminal: whatever came from a file or the machine
    (a device name, a warning in a saved JSON) may not clear the screen, set the window title
    or reorder what is shown. Each control character becomes U+FFFD."""
    return _CONTROL.sub("\ufffd", str(text))


def duration(seconds: float) -> str:
    """'850 ms', '42.1 s', '12 min 30 s', '3 h 05 min', '2 d 4 h'; '< 1 ms' for a positive time
    that rounds to nothing. A duration is never negative (a fitted epoch's fixed cost can be:
    see epoch_model); a negative one is a programming error said as 'n/a', never '-1 ms'."""
    if not math.isfinite(seconds) or seconds < 0:
        return "n/a"
    if seconds == 0:
        return "0 s"
    if seconds < 5e-4:
        return "< 1 ms"
    if seconds < 0.9995:                             # 999.6 ms would read "1000 ms"
        return f"{seconds * 1e3:.0f} ms"
    if seconds < 59.95:                              # 59.97 s would read "60.0 s"
        return f"{seconds:.1f} s"
    minutes = seconds / 60
    if minutes < 60:
        whole = int(seconds // 60)
        rest = round(seconds - 60 * whole)
        if rest == 60:
            whole, rest = whole + 1, 0
        return f"{whole} min {rest:02d} s" if whole < 60 else duration(3600.0)
    hours = int(minutes // 60)
    if hours < 48:
        rest = round(minutes - 60 * hours)
        if rest == 60:
            hours, rest = hours + 1, 0
        return f"{hours} h {rest:02d} min"
    days = int(hours // 24)
    return f"{days} d {hours - 24 * days} h"


def signed_duration(seconds: float) -> str:
    """A difference of two times: '+1.2 s', '−850 ms' (a true minus sign), '±0 s'."""
    if not math.isfinite(seconds):
        return "n/a"
    if abs(seconds) < 5e-4:
        return "±0 s"
    return ("+" if seconds > 0 else "\u2212") + duration(abs(seconds))


def epoch_model(intercept_s: float, per_batch_s: float) -> str:
    """The fitted epoch in words: 'epoch = 12 ms + 7.33 ms × batches'. A fixed part the fit puts
    at or below zero (within its noise) is said as such, never as a negative time."""
    per = si(per_batch_s, "s")
    if intercept_s >= 5e-4:
        return f"epoch = {duration(intercept_s)} + {per} × batches"
    fitted = f"fitted \u2212{duration(-intercept_s)}" if intercept_s <= -5e-4 else "fitted 0"
    return f"epoch = {per} × batches (no fixed cost per epoch: {fitted}, within the noise)"


def percent(fraction: float, digits: int = 1) -> str:
    return "n/a" if not math.isfinite(fraction) else f"{fraction * 100:.{digits}f}%"


def energy(kwh: float) -> str:
    """'0.551 Wh' and '12.3 Wh' below 1 kWh, '4.56 kWh', '1.2 MWh' above (a unit always)."""
    if not math.isfinite(kwh):
        return "n/a"
    if abs(kwh) < 1:
        return f"{_sig3(kwh * 1e3)} Wh"
    if abs(kwh) < 1000:
        return f"{_sig3(kwh)} kWh"
    return si(kwh * 1e3, "Wh")


def power(watts: float | None) -> str:
    """'7.28 W', '144 mW', '1.2 kW'."""
    return "n/a" if watts is None or not math.isfinite(watts) else si(watts, "W")


MONEY_FLOOR_USD = 1e-4
"""Below a hundredth of a cent an amount is said as '< 0.01¢': no one pays it."""


def money(usd: float) -> str:
    """'$1,234', '$12.30', '$0.42', '1.2¢', '0.078¢', '< 0.01¢', '$0' (never an exponent, never
    '$0.000078'): dollars from ten cents, cents to two significant figures below."""
    if not math.isfinite(usd):
        return "n/a"
    if usd < 0:
        return "\u2212" + money(-usd)
    if usd == 0:
        return "$0"
    if usd < MONEY_FLOOR_USD:
        return "< 0.01¢"
    if usd < 0.1:
        return f"{float(f'{usd * 100:.2g}'):g}¢"
    if usd < 1000:
        return f"${usd:,.2f}"
    return f"${usd:,.0f}"


def mass(kg: float) -> str:
    """'0.265 g', '12 g', '3.4 kg', '1.2 t' of CO2e."""
    if not math.isfinite(kg):
        return "n/a"
    if abs(kg) < 1:
        return f"{_sig3(kg * 1e3)} g"
    if abs(kg) < 1000:
        return f"{_sig3(kg)} kg"
    return f"{_sig3(kg / 1e3)} t"


def value(item: Any) -> str:
    """A constant as read: three significant figures without the zeros that say nothing ('3.66'
    for 3.6607142857142856, '0.5', '12'), anything else as its text."""
    if isinstance(item, bool) or not isinstance(item, (int, float)):
        return "—" if item is None else str(item)
    text = number(float(item))
    return text.rstrip("0").rstrip(".") if "." in text else text


def ratio(factor: float) -> str:
    """A speed-up or slow-down: '12.3x', '0.85x'."""
    return "n/a" if not math.isfinite(factor) else f"{_sig3(factor)}x"


def ratio_span(low: float, high: float, sep: str = "–", unit: str = "x") -> str:
    """A range of speed-ups: '11.8–12.9x', or '12.3x' where both ends read alike (``unit`` ''
    for a bare '11.8-12.9' beside a speed-up already written)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return "n/a"
    low_text, high_text = _sig3(low), _sig3(high)
    return f"{low_text}{unit}" if low_text == high_text else f"{low_text}{sep}{high_text}{unit}"


def span(value: Any, fmt: Callable[[float], str], sep: str = " – ") -> str:
    """'1.2 s – 3.4 s': an interval's low and high in ``fmt``'s unit; ``value`` an Interval, its
    JSON form or a (low, high) pair; '—' where there is none. Two ends that read the same are
    written once ('< 0.01¢'); a low end at zero (cut there: a time or an energy is never
    negative) is written 'up to 3.4 s', never as a lower bound of 0."""
    if not value:
        return "—"
    if isinstance(value, tuple):
        low, high = value
    elif isinstance(value, Mapping):
        low, high = value["low"], value["high"]
    else:
        low, high = value.low, value.high
    if low <= 0 < high and fmt is not signed_duration:
        return f"up to {fmt(high)}"                  # the low end was cut at 0: say so
    low_text, high_text = fmt(low), fmt(high)
    return low_text if low_text == high_text else f"{low_text}{sep}{high_text}"
