"""The render stage: numbers with their units, the terminal summary, the HTML dashboard and its
charts. Rendering never computes statistics: every figure comes from the report."""

from .compare import RunComparison, compare_reports, render_compare_html, save_compare_html
from .html import render_html, save_html
from .summary import render_text, renderable

__all__ = ["RunComparison", "compare_reports", "render_compare_html", "render_html",
           "render_text", "renderable", "save_compare_html", "save_html"]
