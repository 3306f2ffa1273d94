"""The render stage: numbers with their units, the terminal summary, the HTML dashboard and its
charts, the shareable card. Rendering never computes statistics: every figure comes from the
report."""

from .card import render_card_svg, save_card
from .compare import RunComparison, compare_reports, render_compare_html, save_compare_html
from .html import render_html, save_html
from .raster import Renderer
from .summary import render_text, renderable

__all__ = ["Renderer", "RunComparison", "compare_reports", "render_card_svg",
           "render_compare_html", "render_html", "render_text", "renderable",
           "save_card", "save_compare_html", "save_html"]
