"""Draw a section's figures and save each: the loop every report section with figures of its own shares."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import matplotlib as mpl

from bench.report.plots import STYLE, Plot, save


def save_figures(specs: Iterable[tuple[str, str, str, Any]], draw: Callable[[Any], Any], folder: Path) -> list[Plot]:
    """Each `(name, title, caption, function)` of `specs` drawn by `draw(function)` in the report's style and saved
    under `folder` as PNG and SVG; a function that draws nothing (None: no data for it) is left out."""
    saved = []
    with mpl.rc_context(STYLE):
        for name, title, caption, function in specs:
            fig = draw(function)
            if fig is not None:
                png, svg = save(fig, folder, name)
                saved.append(Plot(name, title, caption, png, svg))
    return saved
