"""Text for SVG, which does not wrap: an upper bound of a line's width per character, and
lines wrapped or cut with an ellipsis to fit a width in px.

The widths are upper bounds of DejaVu Sans (Book and Bold), the widest of the usual sans-serif
fonts (tests/render/test_card.py checks them against the font where it is installed), so text
measured here fits in it and in the narrower ones (Segoe UI, Roboto, Helvetica, Arial).
"""

from __future__ import annotations

from typing import Any

from .format import plain

ELLIPSIS = "…"
NBSP = "\u00a0"
"""Between a number and its unit, so that a wrapped line never strands "Wh" on its own."""

# Widths in em (Book); bold is wider by BOLD_FACTOR.
_NARROW = frozenset("ijlIJ.,:;'!| ")
_SLIM = frozenset("frt()[]{}-/\\\"*`")
_WIDE = frozenset("mwMW%@")
_UPPER = frozenset("ABCDEFGHKLNOPQRSTUVXYZ")
_SYMBOL = frozenset("#&+<=>^~")
_EM = {**dict.fromkeys(_NARROW, 0.42), **dict.fromkeys(_SLIM, 0.66),
       **dict.fromkeys(_WIDE, 1.0), **dict.fromkeys(_UPPER, 0.8), **dict.fromkeys(_SYMBOL, 0.84),
       "–": 0.64, "·": 0.42, NBSP: 0.42}
_DEFAULT_EM = 0.66      # lower-case letters, digits, $ and the like
_OTHER_EM = 1.0         # anything else (CJK, symbols): as wide as a square
BOLD_FACTOR = 1.12


def text_width(text: str, size: float, *, bold: bool = False) -> float:
    """An upper bound of ``text``'s width in px at font ``size`` px."""
    em = sum(_EM.get(c, _DEFAULT_EM if c.isascii() else _OTHER_EM) for c in text)
    return em * size * (BOLD_FACTOR if bold else 1.0)


def clean(text: Any) -> str:
    """One line of characters XML allows: controls (a device name's ESC) become U+FFFD, line
    breaks spaces."""
    cleaned = plain(text).replace("\t", " ").replace("\n", " ").replace("\r", " ")
    return "".join(c if c not in "\ufffe\uffff" and not 0xD800 <= ord(c) <= 0xDFFF else "\ufffd"
                   for c in cleaned)


def truncate(text: str, size: float, width: float, *, bold: bool = False) -> str:
    """``text``, cut with an ellipsis where it would be wider than ``width`` px."""
    if text_width(text, size, bold=bold) <= width:
        return text
    while text and text_width(text + ELLIPSIS, size, bold=bold) > width:
        text = text[:-1]
    return text.rstrip(" ,;:–·") + ELLIPSIS


def wrap(text: Any, size: float, width: float, *, bold: bool = False,
         max_lines: int = 1) -> tuple[str, ...]:
    """``text`` in at most ``max_lines`` lines no wider than ``width`` px, broken at spaces (a
    word too long for a line is broken inside); what does not fit ends in an ellipsis."""
    words = [word for word in clean(text).split(" ") if word]
    lines: list[str] = []
    current = ""
    while words:
        word = words[0]
        candidate = f"{current} {word}" if current else word
        if text_width(candidate, size, bold=bold) <= width:
            current = candidate
            words.pop(0)
            continue
        if not current:     # one word wider than the line: break it
            cut = len(word)
            while cut > 1 and text_width(word[:cut], size, bold=bold) > width:
                cut -= 1
            current, words[0] = word[:cut], word[cut:]
        if len(lines) + 1 == max_lines:
            return (*lines, truncate(" ".join([current, *words]), size, width, bold=bold))
        lines.append(current)
        current = ""
    return (*lines, current) if current else tuple(lines)
