"""The dashboard in a real headless Chromium: desktop and phone, light and dark, measured.

One browser for the module (a start costs seconds); one tab per case. Every case writes a
screenshot under $GREENLOVE_SCREENSHOTS (default build/screenshots/), viewport and full page.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import shutil
from pathlib import Path

import pytest

import greenlove
from greenlove.history import HISTORY_ENV
from greenlove.render.html import save_html
from tests.browser import Browser, BrowserError
from tests.fakes.training import (
    FakeClock,
    SimulatedEpoch,
    fake_clouds,
    fake_energy,
    fake_instruments,
    make_loader,
)
from tests.render.test_tracked import _tracked

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
SCREENSHOTS = Path(os.environ.get("GREENLOVE_SCREENSHOTS", "build/screenshots"))
SCREENS = {"desktop": (1280, 900), "phone": (390, 844)}
SCHEMES = ("light", "dark")
PAGES = ("report", "tracked")
# The element a reader must see without scrolling: the answer, or on a tracked run its outcome.
HEADLINE = {"report": "verdict", "tracked": "actual", "long": "verdict"}
TOKEN = "https://example.org/" + "a-long-unbroken-path-segment" * 3     # 104 characters, no space
SMALLEST_TEXT_PX = 9.0
CONTRAST = 4.5                                  # WCAG AA for body text
CASES = [(page, screen, scheme) for page in PAGES for screen in SCREENS for scheme in SCHEMES]

pytestmark = pytest.mark.skipif(CHROMIUM is None and not os.environ.get("GREENLOVE_REQUIRE_BROWSER"),
                                reason="no chromium here (.ci/run installs it)")

# Colours are read back through a 1x1 canvas, so any CSS colour syntax (color-mix, color())
# arrives as sRGB bytes; backgrounds are composited up the ancestors to the first opaque one.
MEASURE = """(() => {
  const W = %(width)d, H = %(height)d;
  const ctx = Object.assign(document.createElement("canvas"), {width: 1, height: 1})
    .getContext("2d", {willReadFrequently: true});
  const rgba = (css) => {
    ctx.clearRect(0, 0, 1, 1); ctx.fillStyle = "#000"; ctx.fillStyle = css; ctx.fillRect(0, 0, 1, 1);
    const [r, g, b, a] = ctx.getImageData(0, 0, 1, 1).data; return [r, g, b, a / 255];
  };
  const shown = (el) => el.checkVisibility({visibilityProperty: true, opacityProperty: true});
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c[3] > 0) layers.push(c);
      if (c[3] >= 1) break;
    }
    let out = layers.length && layers[layers.length - 1][3] >= 1 ? [0, 0, 0] : [255, 255, 255];
    for (const [r, g, b, a] of layers.reverse()) out = [r * a + out[0] * (1 - a),
      g * a + out[1] * (1 - a), b * a + out[2] * (1 - a)];
    return out;
  };
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
    (el.classList.length ? "." + [...el.classList].join(".") : "");
  const text = (el) => (el.textContent || "").trim().replace(/\\s+/g, " ").slice(0, 60);

  const cells = [...document.querySelectorAll("th, td")].filter(shown)
    .map((el) => ({h: el.getBoundingClientRect().height, where: name(el.closest("table")),
                   text: text(el)}))
    .sort((a, b) => b.h - a.h);
  const svgText = [...document.querySelectorAll("svg text")].filter(shown).map((el) => {
    const m = el.getScreenCTM();
    const px = parseFloat(getComputedStyle(el).fontSize) * Math.sqrt(Math.abs(m.a * m.d - m.b * m.c));
    return {px, where: name(el.closest("svg").parentElement.closest("[id]")), text: text(el)};
  }).sort((a, b) => a.px - b.px);
  // What sticks out past the screen's right edge without a scrolling box to hold it.
  const sticking = [...document.body.querySelectorAll("*")].filter((el) => {
    if (el.getBoundingClientRect().right <= W + 0.5 || !shown(el)) return false;
    for (let e = el.parentElement; e && e !== document.body; e = e.parentElement) {
      if (["auto", "scroll", "hidden", "clip"].includes(getComputedStyle(e).overflowX)) return false;
    }
    return true;
  }).map((el) => name(el) + " to " + Math.round(el.getBoundingClientRect().right) + " px").slice(0, 8);
  // Scrolling panels whose content is wider than they are (the reader must swipe inside them).
  const swiped = [...document.querySelectorAll(".scroll")].filter((el) => el.scrollWidth > el.clientWidth + 1)
    .map((el) => name(el.querySelector("table") || el));
  const colours = {};
  for (const sel of ["body", "header p", ".card .point", ".card .note", ".small", "th", "td",
                     ".warnings li", "figcaption", ".legend", "footer", "svg text"]) {
    const el = [...document.querySelectorAll(sel)].find((e) => shown(e) && text(e));
    if (!el) continue;
    const style = getComputedStyle(el);
    colours[sel] = {ink: rgba(sel === "svg text" ? style.fill : style.color), paper: background(el)};
  }
  return {
    scrollWidth: document.documentElement.scrollWidth, innerWidth, innerHeight, sticking, swiped,
    tallestCell: cells[0] || null, smallestSvgText: svgText[0] || null, svgTexts: svgText.length,
    bodyBackground: getComputedStyle(document.body).backgroundColor, colours,
    scripts: document.scripts.length + document.querySelectorAll("script, iframe, object, embed").length,
    resources: performance.getEntriesByType("resource").map((e) => e.name),
  };
})()"""

HEADLINE_JS = """(() => {
  const el = document.getElementById(%(id)s);
  if (!el) return null;
  const r = el.getBoundingClientRect();
  return {top: r.top, height: r.height, shown: el.checkVisibility({visibilityProperty: true,
          opacityProperty: true}), text: (el.textContent || "").trim().slice(0, 80)};
})()"""


@pytest.fixture(scope="module")
def browser():
    assert CHROMIUM is not None, "GREENLOVE_REQUIRE_BROWSER is set but chromium is missing"
    with Browser(CHROMIUM) as running:
        yield running


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Path]:
    """The pre-flight report (with clouds) and the same run tracked, as files."""
    with pytest.MonkeyPatch.context() as patch:     # never the user's own run history
        patch.setenv(HISTORY_ENV, str(tmp_path_factory.mktemp("greenlove-home")))
        clock = FakeClock()
        epoch = SimulatedEpoch(clock, fixed_s=0.2, per_batch_s=0.01, noise_rel=0.02, seed=4)
        report = greenlove.estimate(epoch, make_loader(), epochs=20, budget_s=6.0, progress=False,
                                    instruments=fake_instruments(clock), energy=fake_energy(clock),
                                    clouds=fake_clouds(), site=greenlove.Site(zone="DE"))
    folder = tmp_path_factory.mktemp("pages")
    tracked = _tracked(report, actual_s=report.prediction.time_s.point / 1.049)
    return {"report": save_html(report, folder / "report.html"),
            "tracked": save_html(tracked, folder / "tracked.html"),
            "long": save_html(_long_strings(report), folder / "long.html")}


def _long_strings(report):
    """The report with a long unbroken string wherever a device, a table or a user names a thing."""
    energy = report.benchmark.energy
    devices = tuple(dataclasses.replace(d, name=f"{TOKEN}-{i}", note=f"{TOKEN} " * 4)
                    for i, d in enumerate(energy.devices))
    clouds = [dict(report.clouds[0], provider=TOKEN, gpu=TOKEN), *report.clouds[1:]]
    assumptions = {**report.assumptions,
                   "site_zone": {**report.assumptions["site_zone"], "value": TOKEN, "source": TOKEN}}
    return dataclasses.replace(
        report, benchmark=dataclasses.replace(report.benchmark,
                                              energy=dataclasses.replace(energy, devices=devices)),
        clouds=tuple(clouds), assumptions=assumptions, warnings=(*report.warnings, f"See {TOKEN}."),
        environment={**report.environment, "device": TOKEN, f"key-{TOKEN}": TOKEN})


@pytest.fixture(scope="module")
def measured(browser, pages):
    """Each case opened once, shot and measured; the figures kept for every test below."""

    @functools.cache
    def measure(page: str, screen: str, scheme: str) -> dict:
        width, height = SCREENS[screen]
        tab = browser.open(pages[page].as_uri(), width=width, height=height, dark=scheme == "dark")
        try:
            tab.screenshot(SCREENSHOTS / f"{page}-{screen}-{scheme}.png")
            tab.screenshot(SCREENSHOTS / f"{page}-{screen}-{scheme}-full.png", full_page=True)
            figures = tab.evaluate(MEASURE % {"width": width, "height": height})
            figures["headline"] = tab.evaluate(HEADLINE_JS % {"id": repr(HEADLINE[page])})
            figures["requests"] = tab.requests
            figures["url"] = pages[page].as_uri()
        finally:
            tab.close()
        return figures

    return measure


def _case_id(case: tuple[str, str, str]) -> str:
    return "-".join(case)


def _luminance(rgb) -> float:
    def linear(channel: float) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (linear(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(ink, paper) -> float:
    """The WCAG contrast ratio of two sRGB colours (ink's alpha composited onto paper)."""
    alpha = ink[3] if len(ink) > 3 else 1.0
    ink = [i * alpha + p * (1 - alpha) for i, p in zip(ink[:3], paper[:3])]
    high, low = sorted((_luminance(ink), _luminance(paper)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_nothing_wider_than_the_screen(measured, case) -> None:
    page, screen, scheme = case
    figures, (width, _) = measured(*case), SCREENS[screen]
    assert figures["scrollWidth"] <= width, (
        f"{_case_id(case)}: the document is {figures['scrollWidth']} px wide on a {width} px screen; "
        f"sticking out: {figures['sticking']}")
    assert figures["innerWidth"] == width           # a phone did not zoom out to fit


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_no_table_cell_taller_than_the_screen(measured, case) -> None:
    page, screen, scheme = case
    tallest, (_, height) = measured(*case)["tallestCell"], SCREENS[screen]
    assert tallest is not None, "no table was drawn"
    assert tallest["h"] <= height, f"{_case_id(case)}: a cell is {tallest['h']:.0f} px tall: {tallest}"


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_the_headline_is_on_the_first_screen(measured, case) -> None:
    page, screen, scheme = case
    headline, (_, height) = measured(*case)["headline"], SCREENS[screen]
    assert headline is not None, f'no id="{HEADLINE[page]}" on the {page} page'
    assert headline["shown"] and headline["height"] > 0, headline
    assert 0 <= headline["top"] < height, f"{_case_id(case)}: it starts at {headline['top']:.0f} px"


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_chart_text_is_readable(measured, case) -> None:
    figures = measured(*case)
    smallest = figures["smallestSvgText"]
    assert figures["svgTexts"] >= 10, "the charts have lost their axis text"
    assert smallest["px"] >= SMALLEST_TEXT_PX, \
        f"{_case_id(case)}: chart text {smallest['px']:.1f} px: {smallest}"


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_text_contrast(measured, case) -> None:
    colours = measured(*case)["colours"]
    assert {"body", "th", "td", ".small", "svg text"} <= colours.keys(), colours.keys()
    for where, pair in colours.items():
        ratio = contrast(pair["ink"], pair["paper"])
        assert ratio >= CONTRAST, f"{_case_id(case)}: {where} has contrast {ratio:.2f}: {pair}"


@pytest.mark.parametrize(("page", "screen"), [(p, s) for p in PAGES for s in SCREENS])
def test_dark_mode_changes_the_page(measured, page, screen) -> None:
    light, dark = measured(page, screen, "light"), measured(page, screen, "dark")
    assert light["bodyBackground"] != dark["bodyBackground"]
    paper_light, paper_dark = light["colours"]["body"]["paper"], dark["colours"]["body"]["paper"]
    assert _luminance(paper_dark) < 0.05 < 0.8 < _luminance(paper_light), (paper_light, paper_dark)


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_no_script_and_nothing_from_elsewhere(measured, case) -> None:
    figures = measured(*case)
    assert figures["scripts"] == 0
    assert figures["requests"] == [figures["url"]]
    assert figures["resources"] == []


def test_long_unbroken_strings_stay_on_a_phone_screen(measured) -> None:
    figures, (width, height) = measured("long", "phone", "light"), SCREENS["phone"]
    assert figures["scrollWidth"] <= width, figures["sticking"]
    assert figures["tallestCell"]["h"] <= height, figures["tallestCell"]
    # These tables wrap or stack on a phone; the cloud table may still scroll inside its panel.
    wrapped = {"table#devices-table", "table#assumptions-table", "table#environment-table"}
    assert not wrapped & set(figures["swiped"]), figures["swiped"]


def test_screenshots_are_written(measured) -> None:
    from PIL import Image, ImageStat

    for case in CASES:
        measured(*case)
    for page, screen, scheme in CASES:
        width, height = SCREENS[screen]
        image = Image.open(SCREENSHOTS / f"{page}-{screen}-{scheme}.png").convert("L")
        assert image.size == (width, height)
        assert ImageStat.Stat(image.crop((0, 0, width, 400))).stddev[0] > 10, "the top looks blank"
        full = Image.open(SCREENSHOTS / f"{page}-{screen}-{scheme}-full.png")
        assert full.size[0] == width and full.size[1] > 2 * height


RADIOS = """<!DOCTYPE html><meta name="viewport" content="width=device-width">
<style>
input[type=radio] { position: absolute; opacity: 0; } label { display: inline-block; padding: 8px; }
#by-cost:checked ~ .tabs label[for=by-cost],
#by-time:checked ~ .tabs label[for=by-time] { color: rgb(200, 0, 0); }
.spacer { height: 2000px; }
</style>
<button id="start">start</button>
<input type="radio" name="sort" id="by-time" checked><input type="radio" name="sort" id="by-cost">
<div class="spacer"></div>
<div class="tabs"><label for="by-time">Time</label><label for="by-cost">Cost</label></div>
<input type="checkbox" id="more"><details id="how"><summary id="how-summary">How</summary>text</details>"""


def test_click_and_keys_drive_css_only_tabs(browser, tmp_path) -> None:
    """The client's own check: real clicks (scrolled into view) and keys reach a script-less page."""
    path = tmp_path / "radios.html"
    path.write_text(RADIOS)
    tab = browser.open(path.as_uri(), width=390, height=844)
    checked = "document.getElementById('%s').checked"
    focused = "document.activeElement.id"
    try:
        assert tab.evaluate(checked % "by-cost") is False
        tab.click("label[for=by-cost]")                    # 2,000 px down: scrolled to first
        assert tab.evaluate(checked % "by-cost") is True
        assert tab.evaluate("getComputedStyle(document.querySelector('label[for=by-cost]')).color") \
            == "rgb(200, 0, 0)"
        tab.click("label[for=by-time]")
        assert tab.evaluate(checked % "by-time") is True

        tab.evaluate("document.getElementById('start').focus()")
        tab.press("Tab")                                   # into the group: its checked radio
        assert tab.evaluate(focused) == "by-time"
        tab.press("ArrowRight")                            # arrows move and check within a group
        assert (tab.evaluate(focused), tab.evaluate(checked % "by-cost")) == ("by-cost", True)
        tab.press("Tab")
        assert tab.evaluate(focused) == "more"
        tab.press("Space")
        assert tab.evaluate(checked % "more") is True
        tab.press("Tab")
        tab.press("Enter")                                 # a summary opens its details
        assert (tab.evaluate(focused), tab.evaluate("document.getElementById('how').open")) \
            == ("how-summary", True)
        tab.press("Tab", shift=True)
        assert tab.evaluate(focused) == "more"
        with pytest.raises(BrowserError, match="nothing matches"):
            tab.click("#missing")
        with pytest.raises(ValueError, match="no key"):
            tab.press("F13")
    finally:
        tab.close()


ORDER_JS = """(() => {
  const shown = [...document.querySelectorAll('.order')].filter((el) => el.checkVisibility());
  return {shown: shown.map((el) => el.id),
          first: shown.length ? [...shown[0].querySelectorAll('tbody th')].slice(0, 3)
                                .map((th) => th.textContent.trim()) : [],
          checked: document.querySelector('input[name=offer-sort]:checked').id,
          focused: document.activeElement.id};
})()"""


@pytest.mark.parametrize(("screen", "scheme"), [("desktop", "light"), ("phone", "dark")])
def test_the_sort_tabs_switch_the_order_without_a_script(browser, pages, screen, scheme) -> None:
    """The dashboard's own tabs: a click on each label shows its order and only it; the
    keyboard reaches them (Tab to the checked radio, arrows to the next); a screenshot per tab."""
    width, height = SCREENS[screen]
    tab = browser.open(pages["report"].as_uri(), width=width, height=height, dark=scheme == "dark")
    try:
        start = tab.evaluate(ORDER_JS)
        assert start["shown"] == ["order-time"] and start["checked"] == "sort-time"
        firsts = {}
        for name in ("cost", "co2", "time"):
            tab.click(f"label[for=sort-{name}]")
            state = tab.evaluate(ORDER_JS)
            assert state["shown"] == [f"order-{name}"] and state["checked"] == f"sort-{name}"
            firsts[name] = state["first"]
            tab.screenshot(SCREENSHOTS / f"report-tab-{name}-{screen}-{scheme}.png")
        assert len({tuple(v) for v in firsts.values()}) > 1     # the orders really differ
        tab.evaluate("document.getElementById('sort-time').focus()")
        tab.press("ArrowRight")
        state = tab.evaluate(ORDER_JS)
        assert (state["focused"], state["shown"]) == ("sort-cost", ["order-cost"])
        outline = tab.evaluate("getComputedStyle(document.getElementById('tab-cost')).outlineStyle")
        assert outline != "none"                                # focus is visible on the tab
        assert tab.evaluate("document.scripts.length") == 0
    finally:
        tab.close()
