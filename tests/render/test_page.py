"""The page says the answer first (issue 14): sort tabs over pre-rendered orders, alike offers
grouped, warnings in tiers, the CO2e card, sources as numbered notes, a section index."""

from __future__ import annotations

import dataclasses
import re
from html.parser import HTMLParser

from greenlove.measure.devices.base import Fallback
from greenlove.render.html import render_html
from greenlove.render.notes import Notes
from greenlove.render.page_offers import ORDER_ROWS, cloud_section


class _Page(HTMLParser):
    """Ids, the radio inputs and the visible text of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.radios: list[dict[str, str | None]] = []
        self.hrefs: list[str] = []
        self.text: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "input" and attrs.get("type") == "radio":
            self.radios.append(attrs)
        if tag == "a" and attrs.get("href"):
            self.hrefs.append(attrs["href"])
        if tag == "style":
            self._skip += 1

    def handle_endtag(self, tag):
        if tag == "style":
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def test_sort_tabs_are_radio_buttons_over_three_orders_without_script(preflight) -> None:
    html = render_html(preflight)
    page = _parse(html)
    tabs = [r for r in page.radios if r.get("name") == "offer-sort"]
    assert [t["id"] for t in tabs] == ["sort-time", "sort-cost", "sort-co2"]
    assert [t for t in tabs if "checked" in t] == [tabs[0]]           # one order shown at first
    for tab in ("time", "cost", "co2"):
        assert f"order-{tab}" in page.ids and f"tab-{tab}" in page.ids
        assert f'<label for="sort-{tab}"' in html
        assert f"#sort-{tab}:checked ~ #order-{tab}" in html            # the CSS that switches
        assert f"#sort-{tab}:focus-visible ~ .tabbar #tab-{tab}" in html  # keyboard focus shown
    assert ".order { display: none;" in html
    assert "<script" not in html.lower()


def test_each_order_is_sorted_by_its_figure_and_includes_here(preflight) -> None:
    section = cloud_section(preflight, Notes())
    for order in section["orders"]:
        key = order["key"]
        figures = []
        for row in order["rows"]:
            source = section["local"] if row["here"] else next(
                o for o in preflight.clouds if f"{o['provider']}: {o['gpu']}" == row["name"]
                or row["name"].startswith(f"{o['provider']}: {o['gpu']}"))
            figures.append(source[key]["point"])
        assert figures == sorted(figures), order["tab"]
        assert sum(row["here"] for row in order["rows"]) == 1
        assert len(order["rows"]) <= ORDER_ROWS + 1
        places = [int(row["place"].lstrip("=")) for row in order["rows"]]
        assert places == sorted(places) and places[0] == 1


def test_alike_offers_are_one_expandable_group(preflight) -> None:
    html = render_html(preflight)
    section = cloud_section(preflight, Notes())
    assert sum(g["size"] for g in section["groups"]) == len(preflight.clouds)
    assert html.count('<details class="group panel"') == len(section["groups"])
    biggest = max(section["groups"], key=lambda g: g["size"])
    if biggest["size"] > 1:
        assert f"Any of these {biggest['size']} offers" in html
        assert f"cheapest: {biggest['cheapest']['name']}" in html


def test_warnings_in_tiers_on_the_page(preflight) -> None:
    meter = Fallback("CPU and RAM", "RAPL", "no powercap zones", "estimates").message()
    drift = "Epochs of the same size got 12% slower over the benchmark."
    html = render_html(dataclasses.replace(preflight, warnings=(meter, drift)))
    box = html[html.index('id="warnings"'):html.index("</section>", html.index('id="warnings"'))]
    assert drift in box and meter not in box
    assert "1 warning that can change the answer" in box and "1 more" in box
    energy_card = html[html.index('id="card-energy"'):html.index('id="card-electricity-cost"')]
    assert "CPU and RAM energy estimated, not metered (RAPL unavailable)" in energy_card
    assert meter in energy_card                                      # the full sentence, folded
    only_folded = render_html(dataclasses.replace(preflight, warnings=(meter,)))
    assert 'id="warnings"' not in only_folded


def test_the_co2_card_has_one_equivalence_with_its_source_as_a_note(preflight) -> None:
    html = render_html(preflight)
    page = _parse(html)
    card = html[html.index('id="card-co2e"'):html.index("</div>\n", html.index('class="note extra"'))]
    assert card.count("as much CO2e as") == 1
    ref = re.search(r'href="#(note-\d+)"', card)
    assert ref and ref.group(1) in page.ids
    assert "As much CO2e as" not in html                  # the table of every equivalence is gone


def test_sources_are_numbered_notes_not_paragraphs_in_rows(preflight) -> None:
    html = render_html(preflight)
    page = _parse(html)
    table = html[html.index('id="assumptions-table"'):html.index("</table>",
                                                                 html.index('id="assumptions-table"'))]
    for source in (a.get("source") for a in preflight.assumptions.values()):
        if source and len(source) > 40:
            assert source not in table
    notes = [i for i in page.ids if i.startswith("note-")]
    assert notes and all(f"#{n}" in page.hrefs for n in notes)        # every note is cited
    assert all(h[1:] in page.ids for h in page.hrefs if h.startswith("#"))   # no dead link


def test_the_section_index_lists_the_sections_there_are(preflight) -> None:
    html = render_html(preflight)
    page = _parse(html)
    nav = html[html.index('<nav class="index"'):html.index("</nav>")]
    anchors = re.findall(r'href="#([\w-]+)"', nav)
    assert anchors[0] == "verdict" and "clouds" in anchors and "actual" not in anchors
    assert all(a in page.ids for a in anchors)
    assert "position: sticky" in html


def test_numbers_are_read_not_dumped(preflight) -> None:
    text = " ".join(_parse(render_html(preflight)).text)
    assert not re.search(r"\d\.\d{6,}", text)                         # no 3.6607142857142856
    assert not re.search(r"\d[eE][+-]?\d", text)                     # no exponents
    assert "-1 ms" not in text and "$0.0000" not in text
