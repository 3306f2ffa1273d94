"""Human-readable numbers with their units."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
"""C0 and C1 control characters (ESC among them) and bidirectional overrides; tab and newline
are kept."""


def plain(text: Any) -> str:
    """``text`` as plain characters for a terminal: whatever came from a file or the machine
    (a device name, a warning in a saved JSON) may not clear the screen, set the window title
    or reorder what is shown. Each control character becomes U+FFFD."""
    return _CONTROL.sub("\ufffd", str(text))


def duration(seconds: float) -> str:
    """'850 ms', '42.1 s', '12 min 30 s', '3 h 05 min', '2 d 4 h'."""
    if not math.isfinite(seconds):
        return "n/a"
    if seconds <= 0:
        return "0 ms" if seconds > -5e-4 else "-" + duration(-seconds)   # never "-0 ms"
    if seconds < 1:
        return f"{seconds * 1e3:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes = seconds / 60
    if minutes < 60:
        whole = int(seconds // 60)
        return f"{whole} min {round(seconds - 60 * whole):02d} s"
    hours = int(minutes // 60)
    if hours < 48:
        return f"{hours} h {round(minutes - 60 * hours):02d} min"
    days = int(hours // 24)
    return f"{days} d {hours - 24 * days} h"


def percent(fraction: float, digits: int = 1) -> str:
    return "n/a" if not math.isfinite(fraction) else f"{fraction * 100:.{digits}f}%"


def energy(kwh: float) -> str:
    """'12.3 Wh' below 1 kWh, '4.56 kWh' above (a unit always shown)."""
    if not math.isfinite(kwh):
        return "n/a"
    if abs(kwh) < 1:
        return f"{kwh * 1e3:.3g} Wh"
    return f"{kwh:.3g} kWh"


def power(watts: float | None) -> str:
    return "n/a" if watts is None or not math.isfinite(watts) else f"{watts:.3g} W"


def money(usd: float) -> str:
    """'$0.000027', '$0.0042', '$1.23', '$1,234' (never in exponent notation)."""
    if not math.isfinite(usd):
        return "n/a"
    if usd < 0:
        return "-" + money(-usd)
    if usd == 0:
        return "$0"
    if usd < 1:
        decimals = max(2, 1 - math.floor(math.log10(usd)))   # two significant digits, no exponent
        return f"${usd:.{decimals}f}"
    if abs(usd) < 1000:
        return f"${usd:,.2f}"
    return f"${usd:,.0f}"


def mass(kg: float) -> str:
    """'12 g', '3.4 kg', '1.2 t' of CO2e."""
    if not math.isfinite(kg):
        return "n/a"
    if abs(kg) < 1:
        return f"{kg * 1e3:.3g} g"
    if abs(kg) < 1000:
        return f"{kg:.3g} kg"
    return f"{kg / 1e3:.3g} t"


def number(value: float) -> str:
    """Three significant digits without exponent notation: '0.0000018', '0.43', '12.3', '1,234'."""
    if not math.isfinite(value):
        return "n/a"
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    decimals = max(0, 2 - math.floor(math.log10(abs(value))))
    return f"{value:.{decimals}f}"


def span(value: Any, fmt: Callable[[float], str], sep: str = " – ") -> str:
    """'1.2 s – 3.4 s': an interval's low and high in ``fmt``'s unit; ``value`` an Interval, its
    JSON form or a (low, high) pair; '—' where there is none."""
    if not value:
        return "—"
    if isinstance(value, tuple):
        low, high = value
    elif isinstance(value, Mapping):
        low, high = value["low"], value["high"]
    else:
        low, high = value.low, value.high
    return f"{fmt(low)}{sep}{fmt(high)}"
