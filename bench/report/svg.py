"""A plot's SVG file made fit to inline in the HTML report: ids made unique per figure, sized to stay legible."""

from __future__ import annotations

import html
import math
import re
from pathlib import Path

# The smallest text a figure may shrink to, in CSS px: below it, the figure keeps this size and scrolls sideways
# inside its frame (a phone) instead of shrinking further.
LEGIBLE_PX = 9.0
PT_TO_PX = 4 / 3  # matplotlib writes SVG sizes in pt; CSS has 96 px to 72 pt

_ROOT = re.compile(r"<svg\b[^>]*>")
_FONT_SIZE = re.compile(r"font-size:\s*([0-9.]+)px")  # in the SVG's user units, which are pt for matplotlib


def _attr(tag: str, name: str) -> str:
    found = re.search(rf'\s{name}="([^"]*)"', tag)
    return found.group(1) if found else ""


def smallest_font(text: str) -> float | None:
    """The smallest font size of the SVG's text elements, in its user units (None: no text, or text as paths)."""
    sizes = [float(v) for v in _FONT_SIZE.findall(text)]
    return min(sizes) if sizes else None


def inline(path: Path, prefix: str, title: str) -> str:
    """The `<svg>` element of `path` for an HTML page: without its XML prolog and metadata, every id (and every
    reference to one) prefixed with `prefix` so that figures on one page cannot collide, and its size as a style:
    the natural width at most, and no narrower than keeps its smallest text at `LEGIBLE_PX`."""
    text = path.read_text(encoding="utf-8")
    root = _ROOT.search(text)
    if root is None:
        raise ValueError(f"{path} is not an SVG file")
    body = re.sub(r"<metadata>.*?</metadata>\s*", "", text[root.end() :], flags=re.S)
    body = re.sub(r'\bid="([^"]+)"', rf'id="{prefix}-\1"', body)
    body = re.sub(r'href="#([^"]+)"', rf'href="#{prefix}-\1"', body)
    body = re.sub(r"url\(#([^)]+)\)", rf"url(#{prefix}-\1)", body)
    tag = root.group(0)
    box = [float(v) for v in _attr(tag, "viewBox").split()]
    width_pt, height_pt = box[2], box[3]
    natural = width_pt * PT_TO_PX
    font = smallest_font(body)
    narrowest = natural if font is None else LEGIBLE_PX * width_pt / font
    style = (  # text already under the limit at its natural size makes the figure larger than natural
        f"max-width: {math.ceil(max(natural, narrowest))}px; min-width: {math.ceil(narrowest)}px; "
        f"aspect-ratio: {width_pt:.2f} / {height_pt:.2f}"
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'viewBox="{_attr(tag, "viewBox")}" class="plot" role="img" aria-label="{html.escape(title)}" '
        f'style="{style}">{body.strip()}'
    )
