"""The terminal summary: the answer first in about 30 lines, everything with full=True, intervals
never broken across lines, warnings in tiers, offers in groups and rankings, COLUMNS honoured."""

from __future__ import annotations

import dataclasses

import pytest

from greenlove.cli import PIPED_WIDTH, main, piped_width
from greenlove.render import render_text
from greenlove.render.format import duration, energy, mass, money, span
from greenlove.render.groups import Ranked, group_offers
from greenlove.render.terminal import group_line, ranking_line
from greenlove.render.verdict import verdict
from tests.render.test_tracked import _tracked

RAPL = ("CPU and RAM energy: RAPL unavailable (no /sys/class/powercap/intel-rapl zones (not Linux, "
        "a VM, or the intel_rapl module is not loaded)); using estimates (tdp-estimate for the "
        "CPU, ram-estimate for the RAM).")
ZONE = ("Zone unknown (time zone 'Etc/UTC' maps to no known zone): world average used; pass "
        "Site(zone=...) to set it (greenlove demo --zone).")
PRICE = ("No electricity price for WORLD: the median of the 145 countries' prices used; pass "
         "Site(usd_per_kwh=...) for yours (greenlove demo --price).")
CPU = ("This run is on a CPU: the speed-ups to cloud GPUs compare the step measured here with each "
       "GPU's specification plus the host's per-op dispatch time (this CPU: 0.124 TFLOPS matmul, "
       "15.6 GB/s copy); expect them to be rough (data loading does not speed up with the GPU).")
NEW = ("The loader changed its batch size half-way through the benchmark: the prediction may not "
       "hold.")


@pytest.fixture
def demo_like(preflight):
    """The pre-flight with the warnings `greenlove demo` gives on a CPU machine without RAPL."""
    return dataclasses.replace(preflight, warnings=(RAPL, ZONE, PRICE, CPU))


def _inner(text: str) -> list[str]:
    """The panel's lines without its borders."""
    return [line.strip("│╭╮╰╯─ ") for line in text.splitlines()]


def _unbroken(text: str, phrase: str) -> bool:
    """``phrase`` is in ``text`` and every occurrence of it lies within one line."""
    lines = _inner(text)
    whole = " ".join(" ".join(lines).split())
    return phrase in whole and whole.count(phrase) == sum(line.count(phrase) for line in lines)


def _intervals(report) -> list[str]:
    pred = report.prediction
    return [span(pred.time_s, duration), span(pred.energy.energy_kwh, energy),
            span(pred.cost_usd, money), span(pred.co2_kg, mass)]


def test_the_default_summary_says_the_answer_first_in_about_30_lines(demo_like) -> None:
    text = render_text(demo_like, width=100)
    lines = text.splitlines()
    assert len(lines) <= 35
    first_words = verdict(demo_like).sentences[0][:40]
    assert any(first_words in line for line in lines[:3])
    assert all(len(line) <= 100 for line in lines)
    # The evidence is in the full form only, and the short one says where it is.
    for table in ("Power sources", "What was measured", "Model ("):
        assert table not in text
    assert "greenlove show --full FILE" in text
    named = render_text(demo_like, width=100, file="out/greenlove.json")
    assert "greenlove show --full out/greenlove.json" in named


@pytest.mark.parametrize("width", [100, 80])
def test_no_interval_is_broken_across_lines(demo_like, width) -> None:
    short, full = render_text(demo_like, width=width), render_text(demo_like, width=width,
                                                                  full=True)
    for interval in _intervals(demo_like):
        assert _unbroken(short, interval), interval
        if width == 100:
            assert _unbroken(full, interval), interval
    figures = [line for line in _inner(short) if line.startswith(("wall time", "energy",
                                                                  "electricity cost", "CO2e"))]
    assert len(figures) == 4
    for line, interval in zip(figures, _intervals(demo_like)):
        assert interval in line


def test_a_tracked_runs_sentences_never_break_an_interval_at_any_width(preflight) -> None:
    report = _tracked(preflight, actual_s=preflight.prediction.time_s.point / 1.049)
    time_, energy_ = _intervals(preflight)[:2]
    sentence = f"Time: predicted {duration(preflight.prediction.time_s.point)} (95%: {time_})"
    for width in range(50, 121):
        text = render_text(report, width=width)
        assert sentence in " ".join(" ".join(_inner(text)).split())
        assert _unbroken(text, time_) and _unbroken(text, energy_), width


def test_the_full_form_has_every_table_and_every_warning_in_full(demo_like) -> None:
    full = render_text(demo_like, width=100, full=True)
    for title in ("Predicted full run", "What was measured", "Power sources",
                  "The same run on cloud GPUs", "Full run:", "Benchmark:", "Model ("):
        assert title in full
    for device in demo_like.benchmark.energy.devices:
        assert device.name in full
    words = " ".join(" ".join(_inner(full)).split())
    for warning in demo_like.warnings:
        assert warning in words
    assert len(full.splitlines()) > 2 * len(render_text(demo_like, width=100).splitlines())


def test_fallbacks_fold_under_their_figure_and_what_changes_the_answer_comes_first(
        demo_like) -> None:
    report = dataclasses.replace(demo_like, warnings=(RAPL, NEW))
    lines = _inner(render_text(report, width=100))
    energy_at = next(i for i, line in enumerate(lines) if line.startswith("energy"))
    assert lines[energy_at + 1] == "· CPU and RAM energy estimated, not metered (RAPL unavailable)"
    words = " ".join(" ".join(lines).split())
    assert RAPL not in words                            # said in full with --full only
    assert "! " + NEW in words
    warned = next(i for i, line in enumerate(lines) if line.startswith("! The loader"))
    offers = next(i for i, line in enumerate(lines) if line.startswith("The same run on"))
    assert energy_at < warned < offers
    full = _inner(render_text(report, width=100, full=True))
    assert next(i for i, line in enumerate(full) if line.startswith("! The loader")) \
        < next(i for i, line in enumerate(full) if line.startswith("Predicted full run"))


def test_a_warning_without_a_figure_on_screen_is_still_said(demo_like) -> None:
    no_offers = dataclasses.replace(demo_like, clouds=(), warnings=(CPU,))
    assert "· speed-ups from a CPU to a GPU are rough" in _inner(render_text(no_offers))


def _offer(provider, gpu, speedup, cost, band=None, co2=0.001):
    low, high = band or (speedup, speedup)
    return {"provider": provider, "gpu": gpu, "gpus": 1, "speedup": speedup,
            "speedup_method": "fitted-model", "speedup_interval": {"low": low, "high": high},
            "time_s": {"point": 100.0 / speedup, "low": 90.0 / speedup, "high": 110.0 / speedup},
            "cost_usd": None if cost is None else {"point": cost}, "cost_spot_usd": None,
            "co2_kg": {"point": co2}, "co2_claimed_kg": None}


def test_a_group_names_its_cheapest_and_crusoes_best() -> None:
    offers = [_offer("Crusoe Cloud", "H100 SXM", 14.6, 0.020, (13.9, 15.2)),
              _offer("Crusoe Cloud", "A40", 14.0, 0.012, (13.5, 14.6)),
              _offer("RunPod", "RTX 4090", 14.2, 0.009, (13.6, 14.9)),
              _offer("Lambda", "V100", 4.0, 0.030, (3.8, 4.2))]
    fast, slow = group_offers(offers)
    text = group_line(fast)
    assert text.startswith("any of these 3 offers on 3 GPUs: 14x–14.6x")
    assert "cheapest RunPod RTX 4090 0.9¢" in text and "Crusoe: Crusoe Cloud A40 1.2¢" in text
    assert group_line(slow) == "Lambda V100: 4x, 25.0 s; 3¢"


def _ranked(place, tied, name, value, here=False):
    return Ranked(place, tied, name, value, None if here else {"provider": name})


def test_a_ranking_shows_ties_and_always_this_machine() -> None:
    ranked = [_ranked(1, False, "RunPod RTX 4090", 0.0009), _ranked(2, True, "Crusoe A40", 0.0012),
              _ranked(2, True, "Lambda A10", 0.00121), _ranked(4, False, "AWS T4", 0.002),
              _ranked(5, False, "here", 0.004, here=True)]
    wide = ranking_line("cheapest:", ranked, money, 200)
    assert wide == ("cheapest: 1 RunPod RTX 4090 0.09¢ · =2 Crusoe A40 0.12¢ · "
                    "=2 Lambda A10 0.12¢ · 4 AWS T4 0.2¢ · 5 here 0.4¢")
    narrow = ranking_line("cheapest:", ranked, money, 60)
    assert len(narrow) <= 60 and narrow.endswith("· 5 here 0.4¢") and "… " in narrow
    assert narrow.startswith("cheapest: 1 RunPod RTX 4090 0.09¢")


def test_the_demo_like_summary_groups_the_offers_and_ranks_here(demo_like) -> None:
    lines = _inner(render_text(demo_like, width=100))
    ranks = {line.split(":")[0]: line for line in lines
             if line.startswith(("fastest:", "cheapest:", "lowest CO2e:"))}
    assert set(ranks) == {"fastest", "cheapest", "lowest CO2e"}
    assert all(" here " in line for line in ranks.values())
    assert any(line.startswith(("any of these", "Crusoe Cloud")) for line in lines)


def test_piped_output_honours_columns(preflight, tmp_path, capsys, monkeypatch) -> None:
    path = preflight.save(tmp_path / "greenlove.json")
    for columns, expected in (("100", 100), ("130", 130), (None, PIPED_WIDTH),
                              ("30", PIPED_WIDTH), ("wide", PIPED_WIDTH)):
        if columns is None:
            monkeypatch.delenv("COLUMNS", raising=False)
        else:
            monkeypatch.setenv("COLUMNS", columns)
        for full in ([], ["--full"]):
            assert main(["show", str(path), *full]) == 0
            lines = capsys.readouterr().out.splitlines()
            assert max(len(line) for line in lines) == expected, (columns, full)
            assert len(lines[0]) == expected                              # the panel's top
            assert ("Power sources" in "\n".join(lines)) == bool(full)
    assert piped_width({"COLUMNS": "40"}) == 40 and piped_width({"COLUMNS": "39"}) == PIPED_WIDTH


def test_show_full_is_in_the_help(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["show", "--help"])
    assert "--full" in capsys.readouterr().out


def test_hostile_strings_stay_plain_in_both_forms(demo_like) -> None:
    energy_ = demo_like.benchmark.energy
    devices = tuple(dataclasses.replace(d, name=f"GPU \x1b[31mred\x1b[0m {i}")
                    for i, d in enumerate(energy_.devices))
    bench = dataclasses.replace(demo_like.benchmark,
                                energy=dataclasses.replace(energy_, devices=devices))
    clouds = [dict(demo_like.clouds[0], provider="Crusoe \x1b]0;pwned\x07 [bold]x[/bold]"),
              *demo_like.clouds[1:]]
    report = dataclasses.replace(demo_like, benchmark=bench, clouds=tuple(clouds),
                                 warnings=(*demo_like.warnings, "[blink]new\ue000[/blink] \x1b[2J"))
    for text in (render_text(report), render_text(report, full=True)):
        assert "\x1b" not in text and "\x07" not in text
        assert "\ufffd" in text and "[blink]new\ufffd[/blink]" in text
    full = render_text(report, full=True)
    assert "GPU \ufffd[31mred\ufffd[0m 0" in full
    assert "[bold]x[/bold]" in full


def test_a_tracked_runs_fallbacks_under_its_table_name_their_figure(preflight) -> None:
    report = dataclasses.replace(_tracked(preflight, actual_s=preflight.prediction.time_s.point),
                                 warnings=(RAPL, ZONE, PRICE))
    lines = _inner(render_text(report, width=100))
    labelled = [line for line in lines if line.startswith("· ")]
    assert labelled == ["· energy: CPU and RAM energy estimated, not metered (RAPL unavailable)",
                        "· cost: no price for WORLD: the median of the 145 countries' prices used",
                        "· CO2e: zone unknown: the world's average grid used"]
