"""The HTML dashboard: escaping, self-containment, sections, old files (the browser: test_browser)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

import greenlove
from greenlove.cli import main
from greenlove.render.html import render_html

GOLDEN = Path(__file__).parents[1] / "golden" / "report_schema1.json"
EVIL = "<script>alert(1)</script>"


@pytest.fixture
def report(preflight):
    """The render tests' pre-flight report (tests/render/conftest.py)."""
    return preflight


def _evil(report):
    """The report with a hostile string wherever a user or a table supplies a name."""
    clouds = [dict(report.clouds[0], provider=EVIL, gpu=EVIL), *report.clouds[1:]]
    assumptions = {**report.assumptions, "site_zone": {**report.assumptions["site_zone"], "value": EVIL}}
    energy = report.benchmark.energy
    devices = tuple(dataclasses.replace(d, name=f"{EVIL} {i}") for i, d in enumerate(energy.devices))
    bench = dataclasses.replace(report.benchmark,
                                energy=dataclasses.replace(energy, devices=devices))
    comparison = {**report.comparison,
                  "local": {**report.comparison["local"],
                            "device": {**report.comparison["local"]["device"], "name": EVIL}}}
    return dataclasses.replace(
        report, clouds=tuple(clouds), assumptions=assumptions, benchmark=bench,
        comparison=comparison, warnings=(*report.warnings, EVIL),
        environment={**report.environment, "device": EVIL},
    )


def test_user_strings_are_escaped_everywhere(report) -> None:
    html = render_html(_evil(report))
    assert EVIL not in html
    assert "<script" not in html.lower()
    escaped = html.count("&lt;script&gt;alert(1)&lt;/script&gt;")
    # offer (table, ranked lists, details), zone (card, assumptions), devices (table, legend,
    # chart text), local device, warnings, environment
    assert escaped >= 10


def test_page_is_self_contained_and_small(report) -> None:
    html = render_html(report)
    lowered = html.lower()
    assert "<script" not in lowered
    for pattern in (r"<link\b", r"<img\b", r"<iframe\b", r"<object\b", r"<embed\b", r"@import",
                    r"url\(", r"\bsrc\s*=", r"\bhref\s*=\s*[\"']?(https?:)?//"):
        assert not re.search(pattern, lowered), pattern
    assert len(html.encode()) < 500_000


def test_sections_and_numbers_come_from_the_report(report) -> None:
    html = render_html(report)
    for section in ("verdict", "clouds", "evidence", "power", "assumptions", "method",
                    "environment", "notes"):
        assert f'id="{section}"' in html, section
    for label in ("Time", "Energy", "Electricity cost", "CO2e"):
        assert f">{label}<" in html
    pred = report.prediction
    assert greenlove.render.format.duration(pred.time_s.point) in html
    assert greenlove.render.format.energy(pred.energy.energy_kwh.point) in html
    assert html.index("Crusoe Cloud") < html.index("RunPod")
    assert html.count("<svg") == 2 and html.count("<desc") == 2     # every chart has a text alternative
    assert "<th scope=\"col\">" in html


def test_old_schema_file_still_renders(tmp_path) -> None:
    out = tmp_path / "old.html"
    assert main(["report", str(GOLDEN), "-o", str(out)]) == 0
    html = out.read_text()
    assert 'id="evidence"' in html and "No cloud comparison" in html
    assert "Energy was not measured" in html
