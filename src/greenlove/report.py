"""The Report users hold: the result's data with its JSON, HTML and terminal forms attached.

The data (:class:`~greenlove.result.ReportData`) knows none of its renderers; this one class,
above both the result and render stages, joins them for the public API
(``report.save(...)``, ``report.save_html(...)``, ``report.save_card(...)``, ``print(report)``,
``greenlove.load(...)``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .measure.ranks import current_world
from .render import Renderer, render_text, save_card, save_html
from .result import ReportData, load_report, report_from_dict, report_to_dict, save_report


class Report(ReportData):
    """What greenlove learnt: ``print(report)`` summarises, ``report.save(path)`` writes JSON,
    ``report.save_html(path)`` the dashboard, ``report.save_card(path)`` the shareable card."""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        """Rebuild a Report from its JSON form (older schema versions are upgraded first)."""
        return report_from_dict(data, cls)

    def to_dict(self) -> dict[str, Any]:
        return report_to_dict(self)

    def save(self, path: str | Path) -> Path:
        """Write the report as JSON (schema_version 1) and return the path written. In a
        distributed job only rank 0 writes (every rank holds the same report); the other
        ranks write nothing and return the path."""
        if not current_world().is_writer:
            return Path(path)
        return save_report(self, path)

    def save_html(self, path: str | Path) -> Path:
        """Write the self-contained HTML dashboard (no scripts, nothing loaded from elsewhere);
        in a distributed job rank 0 alone writes it, as for :meth:`save`."""
        if not current_world().is_writer:
            return Path(path)
        return save_html(self, path)

    def save_card(self, path: str | Path, *, renderer: Renderer | None = None) -> Path:
        """Write the shareable 1200 x 630 card: ``.svg`` (standalone, works everywhere) or
        ``.png`` (rendered by cairosvg or a headless Chromium where one is present, else a
        GreenloveError); in a distributed job rank 0 alone writes it, as for :meth:`save`."""
        if not current_world().is_writer:
            return Path(path)
        return save_card(self, path, renderer=renderer)

    def summary(self, *, width: int = 100, full: bool = False) -> str:
        """The terminal summary as plain text: the answer first, in about 30 lines (``full``:
        everything, as ``greenlove show --full``)."""
        return render_text(self, width=width, full=full)

    def __str__(self) -> str:
        return self.summary()


def load(path: str | Path) -> Report:
    """Read a report written by ``Report.save`` (any schema version this greenlove knows)."""
    return load_report(path, Report)
