"""Charts for HR: the Resistance and Confidence indices over a survey's runs, as PNG bytes.

Uses matplotlib's object API with the Agg canvas, never pyplot: no display, no global
figure state, safe to call from worker threads.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from collections.abc import Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure

RESISTANCE_COLOUR = "#c0392b"
CONFIDENCE_COLOUR = "#2471a3"


def trend_chart_png(
    points: Sequence[tuple[dt.date, float | None, float | None]],
    title: str,
    *,
    width: float = 8.0,
    height: float = 4.0,
    dpi: int = 100,
) -> bytes:
    """A line chart of (due date, Resistance, Confidence) on a 0-100 axis.

    A suppressed index (None) leaves a gap; a single run is drawn as two markers.
    """
    figure = Figure(figsize=(width, height), dpi=dpi, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    dates = [point[0] for point in points]
    for column, label, colour in (
        (1, "Resistance", RESISTANCE_COLOUR),
        (2, "Confidence", CONFIDENCE_COLOUR),
    ):
        values = [math.nan if point[column] is None else point[column] for point in points]
        axes.plot(dates, values, marker="o", linewidth=2, color=colour, label=label)
    axes.set_ylim(0, 100)
    axes.set_ylabel("index (0-100)")
    axes.set_title(title)
    axes.grid(True, alpha=0.3)
    if dates:
        locator = AutoDateLocator()
        axes.xaxis.set_major_locator(locator)
        axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))
        first, last = min(dates), max(dates)
        if first == last:  # one run: give the lone point some room
            axes.set_xlim(first - dt.timedelta(days=7), last + dt.timedelta(days=7))
        axes.legend(loc="upper left")
    else:
        axes.text(0.5, 0.5, "No runs yet", ha="center", va="center", transform=axes.transAxes)
        axes.set_xticks([])
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
