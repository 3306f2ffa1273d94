"""The render stage: numbers with their units, the terminal summary, the HTML dashboard and its
charts. Rendering never computes statistics: every figure comes from the report."""

from .html import render_html, save_html
from .summary import render_text, renderable

__all__ = ["render_html", "render_text", "renderable", "save_html"]
