"""Charts drawn on the server as SVG: no script, no library in the browser.

Readable without colour: every series has its own line style and marker shape and is
named on the chart; bars carry their value as text; the hatched pattern marks what
the text calls out (abstained questions, the barrier stage). Every text that goes into
an SVG is escaped here, so the templates can include the result as markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 640
INK, MUTED, GRID = "#1f2933", "#52606d", "#d9e2ec"
PATTERNS = """<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse"
patternTransform="rotate(45)"><rect width="6" height="6" fill="#f0b429"/>
<line x1="0" y1="0" x2="0" y2="6" stroke="#8d2b0b" stroke-width="2"/></pattern></defs>"""


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]
    colour: str
    dash: str = ""  # "" solid, "6 4" dashed
    marker: str = "circle"  # circle | square


def _svg(height: int, title: str, body: list[str], width: int = WIDTH) -> Markup:
    label = escape(title)
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{label}" class="chart"><title>{label}</title>'
        f"{PATTERNS}{''.join(body)}</svg>"
    )


def _text(x: float, y: float, text: object, *, anchor="start", size=12, fill=INK, bold=False):
    weight = ' font-weight="bold"' if bold else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" '
        f'fill="{fill}"{weight}>{escape(str(text))}</text>'
    )


def _line(x1: float, x2: float, y1: float, y2: float, stroke: str, extra: str = "") -> str:
    return (
        f'<line x1="{x1:.1f}" x2="{x2:.1f}" y1="{y1:.1f}" y2="{y2:.1f}" stroke="{stroke}"{extra}/>'
    )


def _rect(x: float, y: float, w: float, h: float, fill: str) -> str:
    return f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{fill}"/>'


def _marker(kind: str, x: float, y: float, colour: str) -> str:
    if kind == "square":
        return f'<rect x="{x - 4:.1f}" y="{y - 4:.1f}" width="8" height="8" fill="{colour}"/>'
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4.5" fill="{colour}"/>'


def line_chart(
    labels: Sequence[str], series: Sequence[Series], *, title: str, top: float = 100.0
) -> Markup:
    """Lines over categories (runs); a missing value leaves a gap. y from 0 to `top`."""
    height, left, right, upper, lower = 260, 44, 150, 16, 36
    plot_w, plot_h = WIDTH - left - right, height - upper - lower
    step = plot_w / max(1, len(labels) - 1) if len(labels) > 1 else 0
    body = []

    def x_of(i: int) -> float:
        return left + (i * step if len(labels) > 1 else plot_w / 2)

    def y_of(v: float) -> float:
        return upper + plot_h * (1 - v / top)

    for tick in range(0, 5):
        value = top * tick / 4
        y = y_of(value)
        body.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>'
        )
        body.append(_text(left - 6, y + 4, f"{value:g}", anchor="end", size=11, fill=MUTED))
    every = max(1, len(labels) // 8)
    for i, label in enumerate(labels):
        if i % every == 0 or i == len(labels) - 1:
            body.append(_text(x_of(i), height - 14, label, anchor="middle", size=11, fill=MUTED))
    for number, line in enumerate(series):
        run: list[str] = []
        paths = []
        last = None
        for i, value in enumerate(line.values):
            if value is None:
                if len(run) > 1:
                    paths.append(run)
                run = []
                continue
            point = (x_of(i), y_of(value))
            run.append(f"{point[0]:.1f},{point[1]:.1f}")
            body.append(_marker(line.marker, *point, line.colour))
            last = (point, value)
        if len(run) > 1:
            paths.append(run)
        for points in paths:
            dash = f' stroke-dasharray="{line.dash}"' if line.dash else ""
            body.append(
                f'<polyline points="{" ".join(points)}" fill="none" stroke="{line.colour}" '
                f'stroke-width="2.5"{dash}/>'
            )
        if last is not None:  # name the line where it ends: no legend to decode
            (x, y), value = last
            body.append(_text(x + 10, y + 4 + 14 * number, f"{line.name} {value:.0f}", bold=True))
    if not labels:
        body.append(_text(WIDTH / 2, height / 2, "No closed run yet", anchor="middle", fill=MUTED))
    return _svg(height, title, body)


def bar_chart(
    bars: Sequence[tuple[str, float, float, str]], *, title: str, top: float | None = None
) -> Markup:
    """Vertical bars: (label, solid part, hatched part, text over the bar)."""
    height, left, upper, lower = 220, 36, 24, 36
    plot_w, plot_h = WIDTH - left - 10, height - upper - lower
    top = top or max([solid + hatched for _, solid, hatched, _ in bars] + [1])
    width = plot_w / max(1, len(bars))
    body = [_line(left, left + plot_w, upper + plot_h, upper + plot_h, MUTED)]
    every = max(1, len(bars) // 12)
    for i, (label, solid, hatched, text) in enumerate(bars):
        x = left + i * width + width * 0.15
        w = width * 0.7
        base = upper + plot_h
        for value, fill in ((solid, "#2f6f9f"), (hatched, "url(#hatch)")):
            h = plot_h * value / top if top else 0
            if h > 0:
                base -= h
                body.append(_rect(x, base, w, h, fill))
        body.append(_text(x + w / 2, base - 5, text, anchor="middle", size=11))
        if i % every == 0:
            body.append(_text(x + w / 2, height - 14, label, anchor="middle", size=11, fill=MUTED))
    return _svg(height, title, body)


def profile_chart(stages: dict[str, float | None], *, barrier: str | None, at: float) -> Markup:
    """ADKAR stages as horizontal bars on 1..5, with the barrier line and stage marked."""
    row, left, upper = 34, 130, 24
    height = upper + row * len(stages) + 30
    plot_w = WIDTH - left - 120

    def x_of(value: float) -> float:
        return left + plot_w * (value - 1) / 4

    body = []
    for tick in range(1, 6):
        x = x_of(tick)
        body.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{upper - 6}" y2="{height - 26}" stroke="{GRID}"/>'
        )
        body.append(_text(x, height - 10, tick, anchor="middle", size=11, fill=MUTED))
    for i, (stage, mean) in enumerate(stages.items()):
        y = upper + i * row
        body.append(_text(left - 8, y + 17, stage.capitalize(), anchor="end"))
        if mean is None:
            body.append(_text(left + 4, y + 17, "no figure", fill=MUTED))
            continue
        fill = "url(#hatch)" if stage == barrier else "#2f6f9f"
        body.append(_rect(left, y + 4, max(2.0, x_of(mean) - left), row - 12, fill))
        note = f"{mean:.2f}" + ("  ← barrier point" if stage == barrier else "")
        body.append(_text(x_of(mean) + 6, y + 17, note, bold=stage == barrier))
    x = x_of(at)
    body.append(
        _line(x, x, upper - 10, height - 26, "#8d2b0b", ' stroke-width="2" stroke-dasharray="4 3"')
    )
    body.append(
        _text(x, upper - 12, f"barrier at {at:.1f}", anchor="middle", size=11, fill="#8d2b0b")
    )
    return _svg(height, "ADKAR stage profile", body)


def step_chart(points: Sequence[tuple[float, int]], *, total: int, title: str, unit: str) -> Markup:
    """A cumulative count over time: (x in `unit`s since the start, count so far)."""
    height, left, right, upper, lower = 220, 44, 20, 16, 36
    plot_w, plot_h = WIDTH - left - right, height - upper - lower
    span = max([x for x, _ in points] + [1.0])
    top = max(total, max([n for _, n in points] + [1]))

    def xy(x: float, n: int) -> tuple[float, float]:
        return left + plot_w * x / span, upper + plot_h * (1 - n / top)

    body = []
    for tick in range(0, 5):
        n = round(top * tick / 4)
        _, y = xy(0, n)
        body.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>'
        )
        body.append(_text(left - 6, y + 4, n, anchor="end", size=11, fill=MUTED))
    body.append(
        _text(
            left + plot_w,
            height - 12,
            f"{span:.0f} {unit} after sending",
            anchor="end",
            size=11,
            fill=MUTED,
        )
    )
    body.append(_text(left, height - 12, "sent", size=11, fill=MUTED))
    if points:
        coords = [xy(0, 0)]
        for x, n in points:
            coords.append((xy(x, n)[0], coords[-1][1]))
            coords.append(xy(x, n))
        line = " ".join(f"{a:.1f},{b:.1f}" for a, b in coords)
        body.append(f'<polyline points="{line}" fill="none" stroke="#2f6f9f" stroke-width="2.5"/>')
        x, y = coords[-1]
        body.append(
            _text(min(x, left + plot_w - 120), y - 8, f"{points[-1][1]} of {total}", bold=True)
        )
    else:
        body.append(
            _text(WIDTH / 2, height / 2, "No acknowledgements yet", anchor="middle", fill=MUTED)
        )
    return _svg(height, title, body)
