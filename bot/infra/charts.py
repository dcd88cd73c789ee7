"""The ChartRenderer port over matplotlib: a PNG drawn with the Agg backend, off the event loop.

No pyplot: each chart is its own ``Figure`` on an Agg canvas, so charts drawn at once in threads
share no global state. Labels are reduced to the characters the bundled DejaVu Sans font has
(names typed by staff may hold emoji the font cannot draw; matplotlib would warn for each).
"""

from __future__ import annotations

import asyncio
import functools
import io
import textwrap
from typing import TYPE_CHECKING

from bot.services.ports.reports import BarPanel, ChartSpec

if TYPE_CHECKING:
    from matplotlib.axes import Axes

WIDTH_IN = 10.0
ROW_IN = 0.42
PANEL_MIN_IN = 1.6
DPI = 110
LABEL_WIDTH = 28
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728")


@functools.cache
def _drawable() -> frozenset[int]:
    """Code points the default font (DejaVu Sans, shipped with matplotlib) can draw."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    path = font_manager.findfont(font_manager.FontProperties(family="DejaVu Sans"))
    return frozenset(FT2Font(path).get_charmap())


def drawable(text: str) -> str:
    """``text`` without the characters the font lacks, spaces collapsed."""
    known = _drawable()
    kept = "".join(ch if ord(ch) in known else " " for ch in text)
    return " ".join(kept.split())


def _label(text: str) -> str:
    return "\n".join(textwrap.wrap(drawable(text), LABEL_WIDTH)[:2]) or "—"


def _panel(axes: Axes, panel: BarPanel, empty_text: str) -> None:
    axes.set_title(drawable(panel.title), loc="left", fontsize=11)
    if not panel.categories:
        axes.text(0.5, 0.5, drawable(empty_text), ha="center", va="center", fontsize=10)
        axes.set_axis_off()
        return
    count = len(panel.categories)
    height = 0.8 / max(1, len(panel.series))
    positions = list(range(count))
    scale = 100.0 if panel.percent else 1.0
    top = 0.0
    for index, series in enumerate(panel.series):
        values = [value * scale for value in series.values]
        top = max([top, *values])
        offsets = [p - 0.4 + height * (index + 0.5) for p in positions]
        bars = axes.barh(
            offsets,
            values,
            height=height,
            color=COLOURS[index % len(COLOURS)],
            label=drawable(series.name),
        )
        axes.bar_label(
            bars, labels=[f"{v:.0f}%" if panel.percent else f"{v:g}" for v in values], padding=3
        )
    axes.set_yticks(positions, [_label(c) for c in panel.categories], fontsize=9)
    axes.invert_yaxis()
    axes.set_xlim(0, (100.0 if panel.percent else max(top, 1.0)) * 1.15)
    if not panel.percent:
        from matplotlib.ticker import MaxNLocator

        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.grid(axis="x", alpha=0.3)
    if len(panel.series) > 1:
        axes.legend(loc="lower right", fontsize=9)


def render_png(chart: ChartSpec) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    heights = [max(PANEL_MIN_IN, ROW_IN * len(p.categories) + 0.9) for p in chart.panels]
    figure = Figure(figsize=(WIDTH_IN, sum(heights) + 0.6), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    figure.suptitle(drawable(chart.title), fontsize=13, x=0.01, ha="left")
    axes_list = figure.subplots(len(chart.panels), 1, squeeze=False, height_ratios=heights)
    for axes, panel in zip((row[0] for row in axes_list), chart.panels, strict=True):
        _panel(axes, panel, chart.empty_text)
    out = io.BytesIO()
    figure.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()


class MatplotlibChartRenderer:
    async def render_png(self, chart: ChartSpec) -> bytes:
        return await asyncio.to_thread(render_png, chart)
