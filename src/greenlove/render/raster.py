"""An SVG made into a PNG where a renderer is present: cairosvg where it is importable, else a
headless Chromium on PATH (the SVG itself needs neither)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from ..errors import GreenloveError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
BROWSER_TIMEOUT_S = 60.0
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

Renderer = Callable[[str], bytes]
"""SVG text in, PNG bytes out."""


def find_browser() -> str | None:
    """The first of BROWSERS on PATH."""
    return next((found for name in BROWSERS if (found := shutil.which(name))), None)


def chromium_renderer(browser: str, width: int, height: int, *,
                      timeout_s: float = BROWSER_TIMEOUT_S) -> Renderer:
    """A renderer that screenshots a ``width`` x ``height`` px SVG in headless ``browser``
    (Chromium or Chrome), with a profile of its own that is thrown away."""

    def render(svg: str) -> bytes:
        with tempfile.TemporaryDirectory(prefix="greenlove-card-") as folder:
            source, shot = Path(folder) / "card.svg", Path(folder) / "card.png"
            source.write_text(svg, encoding="utf-8")
            command = [browser, "--headless=new", "--no-sandbox", "--disable-gpu",
                       "--hide-scrollbars", f"--window-size={width},{height}", "--no-first-run",
                       "--disable-extensions", f"--user-data-dir={Path(folder) / 'profile'}",
                       f"--screenshot={shot}", source.as_uri()]
            try:
                done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s,
                                      check=False)
            except subprocess.TimeoutExpired as error:
                raise GreenloveError(f"{browser} did not render the image within "
                                     f"{timeout_s:.0f} s; the .svg works everywhere") from error
            if done.returncode != 0 or not shot.exists():
                tail = (done.stderr or "").strip().splitlines()[-1:] or ["no message"]
                raise GreenloveError(f"{browser} could not render the image (exit "
                                     f"{done.returncode}: {tail[0]}); the .svg works everywhere")
            return shot.read_bytes()

    return render


def cairosvg_renderer(width: int, height: int) -> Renderer | None:
    """cairosvg's renderer, or None where it is not importable."""
    try:
        import cairosvg  # type: ignore[import-not-found]
    except (ImportError, OSError):      # OSError: the package without its cairo library
        return None

    def render(svg: str) -> bytes:
        return cairosvg.svg2png(bytestring=svg.encode("utf-8"), output_width=width,
                                output_height=height)

    return render


def find_renderer(width: int, height: int) -> Renderer | None:
    """cairosvg where it is importable, else a headless Chromium found on PATH, else None."""
    cairo = cairosvg_renderer(width, height)
    if cairo is not None:
        return cairo
    browser = find_browser()
    return chromium_renderer(browser, width, height) if browser is not None else None
