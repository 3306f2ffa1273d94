"""The CO2e card: one equivalence that fits the size, and the greenest option's saving."""

from __future__ import annotations

import dataclasses

from greenlove.model import Interval
from greenlove.render.co2 import MATTERS_KG, co2_story, equivalent

ROWS_PER_KG = {"smartphone_charge": (0.0124, "smartphone fully charged"),
               "car_km": (0.2442, "km driven by an average gasoline passenger vehicle"),
               "tree_seedling_10y": (60.0, "urban tree seedling grown for 10 years")}


def _rows(kg):
    return [{"name": name, "amount": kg / per, "unit": unit, "source": f"src {name}"}
            for name, (per, unit) in ROWS_PER_KG.items()]


def test_the_equivalence_fits_the_size() -> None:
    assert equivalent(0.000265, _rows(0.000265)).text == \
        "as much CO2e as 2.14% of one smartphone fully charged"
    assert equivalent(0.5, _rows(0.5)).text == "as much CO2e as 40.3 × smartphone fully charged"
    found = equivalent(50.0, _rows(50.0))
    assert found.text.startswith("as much CO2e as 205 × km driven") and found.source == "src car_km"
    assert "tree seedling" in equivalent(1e5, _rows(1e5)).text     # too large for any: trees
    assert equivalent(0.0, _rows(0.0)) is None and equivalent(1.0, []) is None


def test_the_greenest_option_is_said_when_it_saves_enough(preflight) -> None:
    here_kg = preflight.prediction.co2_kg.point
    story = co2_story(preflight)
    assert story is not None and story.equivalent is not None
    greener = {"provider": "Crusoe Cloud", "gpu": "H100", "gpus": 1, "speedup": 2.0,
               "speedup_interval": {"low": 1.8, "high": 2.2},
               "time_s": {"point": 1.0}, "cost_usd": None,
               "co2_kg": {"point": here_kg / 10}}
    small = co2_story(dataclasses.replace(preflight, clouds=(greener,)))
    assert here_kg < MATTERS_KG and small.saving is None          # grams: not worth saying
    big_pred = dataclasses.replace(preflight.prediction, co2_kg=Interval(5.0, 4.0, 6.0, 0.95))
    big = co2_story(dataclasses.replace(preflight, prediction=big_pred,
                                        clouds=(dict(greener, co2_kg={"point": 1.0}),)))
    assert big.saving == ("The lowest-CO2e option, Crusoe Cloud H100, would emit 1 kg: 4 kg less "
                          "(location-based).")
    here_best = co2_story(dataclasses.replace(preflight, prediction=big_pred,
                                              clouds=(dict(greener, co2_kg={"point": 9.0}),)))
    assert here_best.saving == "This machine is already the lowest-CO2e option (location-based)."
