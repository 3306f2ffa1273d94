"""The shareable card: a standalone 1200 x 630 SVG that says the answer and the figures, fits
every line in its box, keeps hostile strings escaped, and becomes a PNG only with a renderer."""

from __future__ import annotations

import dataclasses
import io
import os
import shutil
import string
import types
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import greenlove
from greenlove.cli import main
from greenlove.errors import GreenloveError
from greenlove.model import Interval
from greenlove.render import card as card_module
from greenlove.render import raster
from greenlove.render.card import HEIGHT, WIDTH, render_card_svg, save_card
from greenlove.render.format import duration, energy, mass, money, percent, span
from greenlove.render.raster import chromium_renderer
from greenlove.render.textfit import NBSP, text_width, wrap
from greenlove.render.verdict import verdict
from greenlove.result import Actual, Check

GOLDEN = Path(__file__).parents[1] / "golden" / "report_schema1.json"
EVIL = "<script>alert(1)</script>"
SVG_NS = "{http://www.w3.org/2000/svg}"
SCREENSHOTS = Path(os.environ.get("GREENLOVE_SCREENSHOTS", "build/screenshots"))
DEJAVU = Path("/usr/share/fonts/truetype/dejavu")


@pytest.fixture
def report(preflight):
    """The render tests' pre-flight report (tests/render/conftest.py)."""
    return preflight


def _texts(svg: str) -> list[str]:
    """Every <text> element's words, as a reader sees them (a no-break space is a space)."""
    root = ET.fromstring(svg)
    return ["".join(t.itertext()).replace(NBSP, " ") for t in root.iter(f"{SVG_NS}text")]


def _assert_fits(svg: str) -> int:
    """Every <text> sits in a box (a <g class="box"> whose first child is its <rect>) and, at
    its estimated width, inside that box; every box inside the card. Returns the lines seen."""
    root = ET.fromstring(svg)
    boxed = 0
    for group in root.iter(f"{SVG_NS}g"):
        if group.get("class") != "box":
            continue
        x0, y0 = (float(v) for v in group.get("transform")[len("translate("):-1].split())
        rect = group.find(f"{SVG_NS}rect")
        width, height = float(rect.get("width")), float(rect.get("height"))
        assert x0 >= 0 and x0 + width <= WIDTH and y0 >= 0 and y0 + height <= HEIGHT, group.get("id")
        for text in group.iter(f"{SVG_NS}text"):
            words = "".join(text.itertext())
            size = float(text.get("font-size"))
            w = text_width(words, size, bold=text.get("font-weight") == "bold")
            x, y = float(text.get("x")), float(text.get("y"))
            left, right = (x - w, x) if text.get("text-anchor") == "end" else (x, x + w)
            where = f"{group.get('id')}: {words!r}"
            assert left >= 0 and right <= width, where
            assert y - size >= 0 and y + 0.25 * size <= height, where
            boxed += 1
    assert boxed == len(list(root.iter(f"{SVG_NS}text"))), "a line outside every box"
    return boxed


def _long_run(report, *, cost_usd: float = 10.2):
    """The report as a 20-hour run here with one clearly faster, priced Crusoe offer."""
    here = Interval(72000.0, 64800.0, 79200.0, 0.95)
    pred = dataclasses.replace(report.prediction, time_s=here,
                               cost_usd=Interval(20.0, 18.0, 22.0, 0.95))
    offer = {"provider": "Crusoe Cloud", "gpu": "H100 SXM", "gpus": 1, "speedup": 12.0,
             "speedup_interval": {"low": 10.0, "high": 14.0},
             "time_s": {"point": 6000.0, "low": 5100.0, "high": 7200.0, "confidence": 0.95},
             "cost_usd": {"point": cost_usd, "low": cost_usd * 0.9, "high": cost_usd * 1.1,
                          "confidence": 0.95},
             "co2_kg": {"point": 0.5, "low": 0.4, "high": 0.6, "confidence": 0.95},
             "co2_claimed_kg": 0.0}
    return dataclasses.replace(report, prediction=pred, clouds=(offer,))


def _tracked(report, *, actual_s: float, covered: bool = True):
    pred = report.prediction
    actual = Actual(time_s=actual_s, epochs_done=20, steps_done=2000, completed=True,
                    stop_reason="completed", epochs_planned=20, steps_per_epoch=100,
                    energy_kwh=3.1e-4, cost_usd=1.3e-4, co2_kg=1.2e-4)
    check = Check(predicted_s=pred.time_s, actual_s=actual_s,
                  error_rel=pred.time_s.point / actual_s - 1, covered=covered,
                  energy_error_rel=pred.energy.energy_kwh.point / 3.1e-4 - 1, energy_covered=True)
    return dataclasses.replace(report, actual=actual, check=check)


def test_the_card_is_a_standalone_svg_of_1200_by_630(report) -> None:
    svg = render_card_svg(report)
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG_NS}svg"
    assert (root.get("width"), root.get("height"), root.get("viewBox")) == ("1200", "630",
                                                                            "0 0 1200 630")
    title, desc = root.find(f"{SVG_NS}title"), root.find(f"{SVG_NS}desc")
    assert title.text.startswith("greenlove: ") and len(desc.text) > 200
    lowered = svg.lower()
    for banned in ("<script", "<image", "<foreignobject", "<style", "href", "url(", "@import",
                   "@font-face", "http://", "https://"):
        if banned == "http://":     # the one namespace URI an SVG must name
            lowered = lowered.replace('xmlns="http://www.w3.org/2000/svg"', "")
        assert banned not in lowered, banned
    assert _assert_fits(svg) >= 15


def test_the_card_says_what_ran_the_answer_and_the_figures_as_format_writes_them(report) -> None:
    svg = render_card_svg(report)
    texts = _texts(svg)
    pred = report.prediction
    found = verdict(report)
    assert found.action == "stay" and found.short[0] == "Stay here"
    assert "Stay here" in texts and found.short[1] in texts
    assert f"greenlove {report.greenlove_version}" in texts
    assert "20 epochs of 100 batches on CPU: fake" in texts
    assert any(t.startswith(report.created_at[:10]) for t in texts)
    e, c, co2 = pred.energy.energy_kwh, pred.cost_usd, pred.co2_kg
    for figure in (duration(pred.time_s.point), energy(e.point), money(c.point), mass(co2.point)):
        assert figure in texts, figure
    joined = " ".join(texts)
    for interval in (span(pred.time_s, duration), span(e, energy), span(c, money), span(co2, mass)):
        assert interval in joined, interval
    assert "location-based: DE grid at 381 g/kWh" in joined
    # The verdict names the fastest offer (the run is too short to move): its time and price.
    assert "The fastest offer: Crusoe Cloud AMD Instinct MI355X, 340x faster than here" in texts
    assert "Predicted by greenlove from 17 timed epochs on samples, 95% intervals" in joined
    assert f"{len(report.warnings)} warnings in the full report" in joined


def test_a_long_run_moves_and_the_card_names_the_offer_with_its_time_and_cost(report) -> None:
    moved = _long_run(report)
    found = verdict(moved)
    assert found.action == "move"
    assert found.short == ("Move to Crusoe Cloud H100 SXM: 12x faster",
                           "1 h 40 min instead of 20 h 00 min, for $10.20 (here $20.00)")
    assert found.offer is moved.clouds[0] and found.offer_role == "the offer to move to"
    texts = _texts(render_card_svg(moved))
    assert found.headline in texts and found.short[1] in texts
    assert "The offer to move to: Crusoe Cloud H100 SXM, 12x faster than here" in texts
    assert ("time 1 h 40 min (95%: 1 h 25 min – 2 h 00 min) · cost $10.20 ($9.18 – $11.22)"
            in texts)


def test_the_short_form_follows_every_branch_of_the_verdict(report) -> None:
    dear = verdict(_long_run(report, cost_usd=90.0))
    assert dear.action == "stay" and dear.sentences[0].startswith("Stay here unless time matters")
    assert dear.short == ("Stay here unless time matters",
                          "Crusoe Cloud H100 SXM is 12x faster but costs $90.00 (here $20.00)")
    assert dear.offer_role == "the cheapest faster offer"
    alone = verdict(dataclasses.replace(report, clouds=()))
    assert alone.short == ("Run it here", "no cloud comparison in this report") and alone.offer is None
    slow = _long_run(report)
    slow = dataclasses.replace(slow, clouds=({**slow.clouds[0], "speedup": 0.5,
                                              "speedup_interval": {"low": 0.4, "high": 0.6}},))
    none_faster = verdict(slow)
    assert none_faster.short == ("Stay here", "of 1 cloud offers, none is faster than this machine")
    assert none_faster.offer is None and none_faster.headline == "Stay here"
    # Without a short form (a Verdict built by hand), the headline is the whole text.
    assert greenlove.render.verdict.Verdict("stay", ("Stay.", "Really.")).headline == "Stay. Really."
    # An unnamed offer: the card shows the fastest one, labelled as such.
    assert "The fastest of 1 cloud offers: Crusoe Cloud H100 SXM, 0.5x faster than here" in \
        _texts(render_card_svg(slow))


def test_every_line_fits_its_box_even_with_a_200_character_device_name(report) -> None:
    device = ("NVIDIA Extremely Long Accelerator Name With Many Words " * 5)[:200]
    assert len(device) == 200
    long = dataclasses.replace(
        _long_run(report),
        environment={**report.environment, "device": device},
        comparison={**report.comparison, "local": {**report.comparison["local"],
                                                   "device": {"name": device}}},
        warnings=tuple(f"warning {i}" for i in range(12)))
    long = dataclasses.replace(long, clouds=({**long.clouds[0], "provider": "W" * 120,
                                              "gpu": "M" * 80, "gpus": 8},))
    svg = render_card_svg(long)
    _assert_fits(svg)
    texts = _texts(svg)
    what = next(t for t in texts if t.startswith("20 epochs of 100 batches on NVIDIA"))
    assert what.endswith("…") and len(what) < 120
    # A word too long for any line goes to the next one and is cut there; the reason stays.
    at = texts.index("Move to")
    assert texts[at + 1].startswith("WWW") and texts[at + 1].endswith("…")
    assert texts[at + 2] == "1 h 40 min instead of 20 h 00 min, for $10.20 (here $20.00)"
    assert device in ET.fromstring(svg).find(f"{SVG_NS}desc").text   # said in full there
    # Wrapping keeps every word it can and breaks a word longer than a line.
    assert wrap("a " * 3 + "x" * 400, 20, 300, max_lines=3)[-1].endswith("…")
    assert wrap("one two three", 20, 1000) == ("one two three",)
    assert wrap("one two three", 20, text_width("one two", 20), max_lines=2) == \
        ("one two", "three")


@pytest.mark.skipif(not (DEJAVU / "DejaVuSans.ttf").exists(), reason="DejaVu Sans not installed")
def test_the_width_estimate_is_an_upper_bound_of_dejavu_sans() -> None:
    from PIL import ImageFont

    for name, bold in (("DejaVuSans.ttf", False), ("DejaVuSans-Bold.ttf", True)):
        font = ImageFont.truetype(str(DEJAVU / name), 200)
        for char in string.printable[:95] + "–·…" + NBSP:
            assert text_width(char, 200, bold=bold) >= font.getlength(char), (name, char)
        sentence = "Move to Crusoe Cloud H100 SXM: 12x faster; 95%: 0.259 Wh – 0.421 Wh"
        assert text_width(sentence, 200, bold=bold) < 1.3 * font.getlength(sentence)  # not absurd


def test_hostile_strings_stay_escaped_and_the_card_still_parses(report) -> None:
    evil_offer = {**report.clouds[0], "provider": EVIL, "gpu": EVIL, "speedup": 1000.0}
    hostile = dataclasses.replace(
        report, clouds=(evil_offer, *report.clouds[1:]),
        assumptions={**report.assumptions,
                     "site_zone": {**report.assumptions["site_zone"], "value": EVIL}},
        comparison={**report.comparison, "local": {**report.comparison["local"],
                                                   "device": {"name": EVIL + "\x1b[2J\x00"}}},
        greenlove_version=EVIL)
    svg = render_card_svg(hostile)
    assert EVIL not in svg and "<script" not in svg.lower() and "\x1b" not in svg
    assert svg.count("&lt;script&gt;") >= 6      # version, device, zone, offer (card and desc)
    texts = _texts(svg)                          # parses: nothing the XML forbids got through
    assert any(EVIL in t for t in texts)         # shown as the text it is
    _assert_fits(svg)


def test_a_tracked_report_shows_predicted_vs_actual(report) -> None:
    pred = report.prediction
    tracked = _tracked(report, actual_s=pred.time_s.point / 1.049)
    texts = _texts(render_card_svg(tracked))
    joined = " ".join(texts)
    assert "Predicted vs actual" in texts
    assert f"Took {duration(tracked.actual.time_s)}, predicted {duration(pred.time_s.point)}" in texts
    assert (f"The prediction was {percent(tracked.check.error_rel)} long, inside the interval "
            f"(95%: {span(pred.time_s, duration)})") in joined
    for actual in (energy(3.1e-4), money(1.3e-4), mass(1.2e-4)):
        assert actual in texts, actual
    assert f"predicted {energy(pred.energy.energy_kwh.point)}" in texts
    assert "The real run: completed, 20 of 20 epochs (2,000 steps)" in texts
    assert "For the next run: Stay here; at 24.5 s the run is shorter than a cloud instance's " \
        "start-up and minimum billing" in texts
    assert ("Predicted by greenlove from 17 timed epochs on samples, 95% intervals · "
            f"{len(report.warnings)} warnings in the full report") in texts
    missed = " ".join(_texts(render_card_svg(_tracked(report, actual_s=60.0, covered=False))))
    assert "short, outside the interval" in missed
    _assert_fits(render_card_svg(tracked))


def test_a_run_tracked_without_a_preflight_says_so(report) -> None:
    actual = Actual(time_s=95.0, epochs_done=7, steps_done=700, completed=False,
                    stop_reason="limit: max_usd 5 reached", epochs_planned=20, steps_per_epoch=100)
    bare = dataclasses.replace(report, benchmark=None, prediction=None, clouds=(), comparison={},
                               actual=actual, check=None)
    svg = render_card_svg(bare)
    joined = " ".join(_texts(svg))
    assert "Took 1 min 35 s (7 of 20 epochs, stopped: limit: max_usd 5 reached)" in joined
    assert "Not estimated before the run" in joined and "not estimated before the run" in joined
    assert "the run was tracked without a pre-flight estimate" in joined
    _assert_fits(svg)


def test_a_dry_run_is_a_preflight_and_says_where_it_came_from(report) -> None:
    actual = Actual(time_s=4.0, epochs_done=1, steps_done=150, completed=False,
                    stop_reason="dry run: the forecast is tight", epochs_planned=20,
                    steps_per_epoch=100, dry_run=True)
    joined = " ".join(_texts(render_card_svg(dataclasses.replace(report, actual=actual))))
    assert "Where to run it" in joined and "Stay here" in joined
    assert "Predicted by greenlove from a dry run of 150 steps in the training loop" in joined


def test_an_old_report_without_clouds_or_energy_says_what_is_missing() -> None:
    old = greenlove.load(GOLDEN)
    svg = render_card_svg(old)
    texts = _texts(svg)
    joined = " ".join(texts)
    assert "Run it here" in texts and duration(old.prediction.time_s.point) in texts
    assert "energy was not measured for this report" in joined
    assert joined.count("needs the energy, which was not measured") == 2   # cost and CO2e
    assert "No cloud comparison in this report" in texts
    _assert_fits(svg)


def _png(size=(WIDTH, HEIGHT)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, "#f7f7f4").save(buffer, "PNG")
    return buffer.getvalue()


def test_a_png_is_made_by_the_renderer_given_and_written_whole(report, tmp_path) -> None:
    seen = []

    def renderer(svg: str) -> bytes:
        seen.append(ET.fromstring(svg).get("width"))
        return _png()

    out = save_card(report, tmp_path / "card.png", renderer=renderer)
    assert out.read_bytes() == _png() and seen == ["1200"]
    # A renderer that gives no PNG, or fails, leaves the old file as it was and no debris.
    with pytest.raises(GreenloveError, match="no PNG"):
        save_card(report, out, renderer=lambda svg: b"not a png")

    def failing(svg: str) -> bytes:
        raise GreenloveError("the browser crashed")

    with pytest.raises(GreenloveError, match="crashed"):
        save_card(report, out, renderer=failing)
    assert out.read_bytes() == _png() and sorted(tmp_path.iterdir()) == [out]


def test_a_png_without_a_renderer_is_a_clear_error(report, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(raster, "cairosvg_renderer", lambda width, height: None)
    monkeypatch.setattr(raster.shutil, "which", lambda name: None)
    assert raster.find_renderer(WIDTH, HEIGHT) is None
    with pytest.raises(GreenloveError, match=r"no renderer was found.*the \.svg works everywhere"):
        report.save_card(tmp_path / "card.png")
    assert not (tmp_path / "card.png").exists()
    with pytest.raises(GreenloveError, match="as .svg or .png"):
        save_card(report, tmp_path / "card.jpg")
    # A browser on PATH is found when cairosvg is not there.
    monkeypatch.setattr(raster.shutil, "which",
                        lambda name: "/opt/chromium" if name == "chromium" else None)
    assert raster.find_browser() == "/opt/chromium"
    assert raster.find_renderer(WIDTH, HEIGHT) is not None


def test_a_browser_that_fails_is_said_with_its_message(tmp_path) -> None:
    fake = tmp_path / "browser"
    fake.write_text("#!/bin/sh\necho 'no display here' >&2\nexit 3\n")
    fake.chmod(0o755)
    with pytest.raises(GreenloveError, match="exit 3: no display here"):
        chromium_renderer(str(fake), WIDTH, HEIGHT)("<svg/>")


def test_the_cli_writes_the_card_next_to_the_file_and_o_works(report, tmp_path, monkeypatch,
                                                             capsys) -> None:
    saved = report.save(tmp_path / "card.json")
    assert main(["card", str(saved)]) == 0
    card = tmp_path / "card.svg"
    assert ET.fromstring(card.read_text()).get("width") == "1200"
    assert f"wrote {card}" in capsys.readouterr().out
    other = tmp_path / "out" / "summary.svg"
    assert main(["card", str(saved), "-o", str(other)]) == 0
    assert other.read_text() == card.read_text()
    assert main(["card", str(saved), "-o", str(saved)]) == 2
    assert "would overwrite its input" in capsys.readouterr().err
    monkeypatch.setattr(card_module, "find_renderer", lambda width, height: None)
    assert main(["card", str(saved), "-o", str(tmp_path / "card.png")]) == 2
    assert "no renderer was found" in capsys.readouterr().err
    assert not (tmp_path / "card.png").exists()
    assert main(["card", str(GOLDEN), "-o", str(tmp_path / "old.svg")]) == 0


def test_the_card_method_writes_nothing_on_other_ranks(report, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(greenlove.report, "current_world",
                        lambda: types.SimpleNamespace(is_writer=False))
    assert report.save_card(tmp_path / "card.svg") == tmp_path / "card.svg"
    assert not (tmp_path / "card.svg").exists()


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.skipif(_chromium() is None and not os.environ.get("GREENLOVE_REQUIRE_BROWSER"),
                    reason="no chromium here (.ci/run installs it)")
def test_a_real_png_from_headless_chromium(report) -> None:
    from PIL import Image, ImageStat

    browser = _chromium()
    assert browser is not None, "GREENLOVE_REQUIRE_BROWSER is set but chromium is missing"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = save_card(report, SCREENSHOTS / "card.png", renderer=chromium_renderer(browser, WIDTH, HEIGHT))
    image = Image.open(shot).convert("RGB")
    assert image.size == (WIDTH, HEIGHT)
    assert ImageStat.Stat(image.convert("L")).stddev[0] > 10, "the card looks blank"
    red, green, blue = image.getpixel((600, 3))           # the green strip along the top
    assert green > 120 and red < 40 and blue < 140
    ink = image.crop((48, 300, 1152, 500)).convert("L")   # the four figures are drawn in ink
    assert ink.getextrema()[0] < 80
