"""Numbers people read, without a unit of greenlove's own: three significant figures, SI
prefixes, no exponent notation. The bottom layer, so every stage's sentences (a roofline's
method text, a summary) write numbers the same way; render/format.py adds the units greenlove
shows (durations, money, energy)."""

from __future__ import annotations

import math

_PREFIXES = {-3: "n", -2: "µ", -1: "m", 0: "", 1: "k", 2: "M", 3: "G", 4: "T", 5: "P"}


def _sig3(value: float) -> str:
    """Three significant figures, no exponent, no trailing zeros: 128, 6.8, 0.42, 5."""
    text = f"{value:.3g}"
    if "e" in text:                                  # .3g uses exponents from 1e6 on
        text = f"{float(text):.0f}"
    return text


def si(value: float, unit: str) -> str:
    """Three significant figures with an SI prefix: '128 MFLOP', '5 MB', '6.8 TB/s', '144 mW'."""
    if not math.isfinite(value):
        return "n/a"
    if value == 0:
        return f"0 {unit}"
    if value < 0:
        return "\u2212" + si(-value, unit)
    rounded = float(f"{value:.3g}")                  # 999.7 k rounds to 1 M, not "1000 k"
    step = min(max(math.floor(math.log10(rounded)) // 3, min(_PREFIXES)), max(_PREFIXES))
    return f"{_sig3(rounded / 10 ** (3 * step))} {_PREFIXES[step]}{unit}"


def number(value: float) -> str:
    """Three significant digits without exponent notation: '0.0000018', '0.430', '12.3', '99.0',
    '1,234' (the zeros are significant: a column of them reads alike)."""
    if not math.isfinite(value):
        return "n/a"
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    decimals = max(0, 2 - math.floor(math.log10(abs(value))))
    return f"{value:.{decimals}f}"
