"""One formatter for page and terminal: numbers people read (issue 14, item 5)."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from greenlove.render.format import (
    duration,
    energy,
    epoch_model,
    mass,
    money,
    number,
    power,
    ratio,
    si,
    signed_duration,
    span,
    value,
)

POSITIVE = st.floats(min_value=1e-12, max_value=1e15, allow_nan=False, allow_infinity=False)
EXPONENT = re.compile(r"\d[eE][+-]?\d")


@pytest.mark.parametrize(("amount", "unit", "text"), [
    (128e6, "FLOP", "128 MFLOP"), (5e6, "B", "5 MB"), (6.8e12, "B/s", "6.8 TB/s"),
    (0.144, "W", "144 mW"), (999.7e3, "B", "1 MB"), (3, "B", "3 B"), (0, "B", "0 B"),
    (0.00733, "s", "7.33 ms"), (1.5e-6, "s", "1.5 µs"),
])
def test_si_prefixes_with_three_significant_figures(amount, unit, text) -> None:
    assert si(amount, unit) == text


@given(POSITIVE)
def test_si_is_three_figures_between_1_and_1000(amount) -> None:
    text = si(amount, "B")
    mantissa = float(text.split()[0])
    assert 1 <= mantissa < 1000 or amount < 1e-9 or amount >= 1e18
    assert not EXPONENT.search(text)
    assert len(text.split()[0].replace(".", "").lstrip("0")) <= 3 or mantissa >= 1000


@pytest.mark.parametrize(("usd", "text"), [
    (0, "$0"), (1e-5, "< 0.01¢"), (7.8e-5, "< 0.01¢"), (9.5e-4, "0.095¢"), (0.0042, "0.42¢"),
    (0.012, "1.2¢"), (0.099, "9.9¢"), (0.1, "$0.10"), (0.42, "$0.42"), (12.3, "$12.30"),
    (1234.5, "$1,234"),
])
def test_money_as_people_read_it(usd, text) -> None:
    assert money(usd) == text


@given(st.floats(min_value=0, max_value=1e9, allow_nan=False))
def test_money_never_long_or_in_exponents(usd) -> None:
    text = money(usd)
    assert not EXPONENT.search(text)
    digits = re.sub(r"[^0-9]", "", text)
    assert len(digits.lstrip("0")) <= max(3, len(f"{usd:.0f}") + 2), text


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0 s"), (1e-4, "< 1 ms"), (0.067, "67 ms"), (0.9996, "1.0 s"), (4.1, "4.1 s"),
    (59.97, "1 min 00 s"), (124, "2 min 04 s"), (3599.8, "1 h 00 min"), (7300, "2 h 02 min"),
    (200_000, "2 d 7 h"),
])
def test_duration(seconds, text) -> None:
    assert duration(seconds) == text


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_duration_is_never_negative_looking(seconds) -> None:
    text = duration(seconds)
    assert not text.startswith(("-", "\u2212"))
    assert "60 s" not in text and "60.0 s" not in text and "1000 ms" not in text


def test_differences_have_their_own_signed_form() -> None:
    assert signed_duration(-0.85) == "\u2212850 ms"
    assert signed_duration(1.2) == "+1.2 s"
    assert signed_duration(0) == "±0 s"


def test_a_fixed_cost_fitted_below_zero_is_said_not_shown_negative() -> None:
    text = epoch_model(-0.001, 0.00733)
    assert "-1 ms" not in text and "no fixed cost" in text and "\u22121 ms" in text
    assert epoch_model(0.012, 0.00733) == "epoch = 12 ms + 7.33 ms × batches"


def test_interval_ends_that_read_alike_are_written_once_and_a_zero_floor_is_said() -> None:
    assert span((5.9e-5, 9.6e-5), money) == "< 0.01¢"
    assert span((0.0, 5.1), duration) == "up to 5.1 s"
    assert span({"low": 1.0, "high": 2.0}, duration) == "1.0 s – 2.0 s"
    assert span(None, duration) == "—"


@pytest.mark.parametrize(("amount", "text", "constant"), [
    (3.6607142857142856, "3.66", "3.66"), (0.5, "0.500", "0.5"), (12.0, "12.0", "12"),
    (99.0, "99.0", "99"), (1234.5, "1,234", "1,234"), (0.0000018, "0.00000180", "0.0000018"),
    (0, "0", "0"),
])
def test_number_and_table_values(amount, text, constant) -> None:
    assert number(amount) == text           # a column's figures: significant zeros kept
    assert value(amount) == constant        # a constant: as written


def test_values_that_are_not_numbers_stay_text() -> None:
    assert value("US-CA") == "US-CA" and value(None) == "—" and value(True) == "True"


def test_energy_power_mass_ratio_units() -> None:
    assert energy(0.000551) == "0.551 Wh" and energy(4.56) == "4.56 kWh"
    assert energy(1234.0) == "1.23 MWh"
    assert power(7.28) == "7.28 W" and power(None) == "n/a"
    assert mass(0.000265) == "0.265 g" and mass(3.4) == "3.4 kg" and mass(1200) == "1.2 t"
    assert ratio(12.34) == "12.3x" and ratio(math.nan) == "n/a"


def test_a_range_of_speedups_is_written_once_where_its_ends_read_alike() -> None:
    from greenlove.render.format import ratio_span

    assert ratio_span(11.83, 12.94) == "11.8–12.9x"
    assert ratio_span(12.31, 12.34) == "12.3x"
    assert ratio_span(8.1, 11.2, sep="-", unit="") == "8.1-11.2"
    assert ratio_span(math.nan, 2.0) == "n/a"
