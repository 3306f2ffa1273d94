"""Warnings in tiers: the answer's first, the figures' folded under them (issue 14, item 4).
The sentences come from the stages that write them, so a reworded warning breaks a test here
rather than silently moving tiers."""

from __future__ import annotations

import dataclasses

from greenlove.compare.site import Site, resolve_site
from greenlove.measure.devices.base import Fallback
from greenlove.render.notices import ANSWER, FIGURE, classify, first, notices, under


def test_a_meter_fallback_is_folded_under_energy() -> None:
    text = Fallback("CPU and RAM", "RAPL", "no powercap zones", "estimates").message()
    notice = classify(text)
    assert (notice.tier, notice.figure) == (FIGURE, "energy")
    assert notice.short == "CPU and RAM energy estimated, not metered (RAPL unavailable)"


def test_site_fallbacks_are_folded_under_co2_and_cost(tmp_path) -> None:
    site = resolve_site(Site(), tz_name="Etc/UTC")            # no zone: world average, table price
    found = [classify(w) for w in site.warnings]
    assert {n.figure for n in found} == {"co2", "cost"}
    assert all(n.tier == FIGURE for n in found)
    shorts = {n.figure: n.short for n in found}
    assert shorts["co2"] == "zone unknown: the world's average grid used"
    assert shorts["cost"].startswith("no price for WORLD: ")
    guessed = resolve_site(Site(), tz_name="Europe/Berlin")
    assert [classify(w).short for w in guessed.warnings][0] == "zone DE guessed from the time zone"


def test_the_cpu_speedup_caveat_changes_the_answer_only_when_moving() -> None:
    text = "This run is on a CPU: the speed-ups to cloud GPUs compare ... expect them to be rough."
    assert classify(text).tier == FIGURE and classify(text).figure == "clouds"
    assert classify(text, moving=True).tier == ANSWER


def test_an_unknown_warning_is_never_hidden() -> None:
    notice = classify("Something new went wrong.")
    assert notice.tier == ANSWER and notice.short == "Something new went wrong."


def test_notices_keep_order_drop_repeats_and_split_by_tier(preflight) -> None:
    meter = Fallback("GPU", "NVML", "no driver", "a TDP estimate").message()
    drift = "Epochs of the same size got 12% slower over the benchmark."
    report = dataclasses.replace(preflight, warnings=(drift, meter, drift))
    found = notices(report)
    assert [n.text for n in found] == [drift, meter]
    assert [n.text for n in first(found)] == [drift]
    assert [n.text for n in under(found, "energy")] == [meter]
    assert under(found, "cost") == ()


def test_the_energy_figure_says_whether_it_was_metered_or_estimated(preflight) -> None:
    from greenlove.render.notices import energy_basis

    energy = preflight.benchmark.energy

    def with_methods(*methods):
        devices = tuple(dataclasses.replace(d, method=m) for d, m in zip(energy.devices, methods))
        bench = dataclasses.replace(preflight.benchmark,
                                    energy=dataclasses.replace(energy, devices=devices))
        return dataclasses.replace(preflight, benchmark=bench)

    assert len(energy.devices) >= 2
    others = ["ram-estimate"] * (len(energy.devices) - 1)
    assert energy_basis(with_methods("tdp-estimate", *others)) == \
        "estimated, not metered (tdp-estimate, ram-estimate)"
    assert energy_basis(with_methods("nvml", *others)) == \
        "metered (nvml) and estimated (ram-estimate)"
    assert energy_basis(with_methods(*["rapl"] * len(energy.devices))) == "metered (rapl)"
    no_energy = dataclasses.replace(preflight, benchmark=dataclasses.replace(
        preflight.benchmark, energy=None))
    assert energy_basis(no_energy) == preflight.prediction.energy.method
