"""The render stage: numbers with their units, the terminal summary, the HTML dashboard and its
charts, the shareable card. Rendering never computes statistics: every figure comes from the
report."""

from .card import render_card_svg, save_card
from .html import render_html, save_html
from .raster import Renderer
from .summary import render_text, renderable

__all__ = ["Renderer", "render_card_svg", "render_html", "render_text", "renderable", "save_card",
           "save_html"]
