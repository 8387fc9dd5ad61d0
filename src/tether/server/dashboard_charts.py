"""Time-series charts as geometry: numbers the `charts.html` macros draw as inline SVG.

Nothing here produces markup. A chart is coordinates, path commands built only from numbers,
and labels the templates escape like any other text, so a chart cannot inject anything.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

WIDTH, HEIGHT = 560, 200
LEFT, RIGHT, TOP, BOTTOM = 52, 12, 12, 26  # margins around the plot area
X_TICKS = 6
Y_TICKS = 4


@dataclass(frozen=True)
class Mark:
    """A dot or a bar, with the tooltip its `<title>` shows."""

    x: float
    y: float
    w: float
    h: float
    label: str


@dataclass(frozen=True)
class Series:
    """One named line (a path and its dots) or one layer of stacked bars."""

    name: str
    css: str  # a class the stylesheet colours: s0, s1, ok, bad
    path: str
    marks: tuple[Mark, ...]


@dataclass(frozen=True)
class Tick:
    at: float
    label: str


@dataclass(frozen=True)
class Chart:
    """One chart: its plot box, series, axis ticks, and whether it has any data at all."""

    title: str
    kind: str  # line | bars
    width: int
    height: int
    left: int
    top: int
    right: int
    bottom: int
    series: tuple[Series, ...]
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    empty: bool


@dataclass(frozen=True)
class Axis:
    """The time axis shared by a page's charts: bucket starts from `start` to `end`."""

    start: int
    end: int
    step: int

    @property
    def buckets(self) -> list[int]:
        return list(range(self.start, self.end, self.step))

    def x(self, t: float) -> float:
        span = max(self.end - self.start, 1)
        return LEFT + (t - self.start) / span * (WIDTH - LEFT - RIGHT)

    def label(self, t: float) -> str:
        moment = datetime.fromtimestamp(t, UTC)
        return moment.strftime("%H:%M" if self.end - self.start <= 86_400 else "%m-%d %H:%M")

    def ticks(self) -> tuple[Tick, ...]:
        every = max(1, math.ceil(len(self.buckets) / X_TICKS))
        starts = self.buckets[::every]
        return tuple(Tick(round(self.x(t), 1), self.label(t)) for t in starts)


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times 10^k at or above `value` (1 for nothing to show)."""
    if value <= 0 or not math.isfinite(value):
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value:
            return float(step * power)
    return float(10 * power)


def _y(value: float, top_value: float) -> float:
    plot = HEIGHT - TOP - BOTTOM
    return TOP + plot * (1 - min(max(value / top_value, 0.0), 1.0))


def _y_ticks(top_value: float, fmt: Callable[[float], str]) -> tuple[Tick, ...]:
    return tuple(
        Tick(round(_y(top_value * i / Y_TICKS, top_value), 1), fmt(top_value * i / Y_TICKS))
        for i in range(Y_TICKS + 1)
    )


def _path(points: Sequence[tuple[float, float] | None]) -> str:
    """SVG path commands through the points; a None breaks the line (a bucket without data)."""
    parts: list[str] = []
    pen_down = False
    for point in points:
        if point is None:
            pen_down = False
            continue
        parts.append(f"{'L' if pen_down else 'M'}{point[0]:.1f} {point[1]:.1f}")
        pen_down = True
    return " ".join(parts)


def line_chart(
    title: str,
    axis: Axis,
    lines: Sequence[tuple[str, str, Sequence[float | None]]],
    fmt: Callable[[float], str],
    top_value: float | None = None,
    notes: Sequence[str] | None = None,
) -> Chart:
    """Lines of (name, css class, one value per bucket, None where there is none).

    `top_value` fixes the y axis (1.0 for rates); otherwise it is a round number above the
    largest value. `notes` adds a line to each bucket's tooltip (e.g. how many runs it holds).
    """
    values = [v for _, _, vs in lines for v in vs if v is not None]
    top = top_value if top_value is not None else nice_ceiling(max(values, default=0.0))
    buckets = axis.buckets
    half = axis.step / 2
    series = []
    for name, css, vs in lines:
        points: list[tuple[float, float] | None] = []
        marks = []
        for i, (t, v) in enumerate(zip(buckets, vs, strict=True)):
            if v is None:
                points.append(None)
                continue
            x, y = axis.x(t + half), _y(v, top)
            points.append((x, y))
            note = f" · {notes[i]}" if notes else ""
            marks.append(
                Mark(round(x, 1), round(y, 1), 0, 0, f"{axis.label(t)} {name}: {fmt(v)}{note}")
            )
        series.append(Series(name, css, _path(points), tuple(marks)))
    return Chart(
        title,
        "line",
        WIDTH,
        HEIGHT,
        LEFT,
        TOP,
        WIDTH - RIGHT,
        HEIGHT - BOTTOM,
        tuple(series),
        axis.ticks(),
        _y_ticks(top, fmt),
        empty=not values,
    )


def bar_chart(title: str, axis: Axis, layers: Sequence[tuple[str, str, Sequence[int]]]) -> Chart:
    """Stacked bars of counts: (name, css class, one count per bucket) bottom layer first."""
    buckets = axis.buckets
    totals = [sum(layer[2][i] for layer in layers) for i in range(len(buckets))]
    top = nice_ceiling(max(totals, default=0))
    width = max((axis.x(axis.step) - axis.x(0)) * 0.7, 1.0)
    base = [0] * len(buckets)
    series = []
    for name, css, counts in layers:
        marks = []
        for i, (t, n) in enumerate(zip(buckets, counts, strict=True)):
            if n <= 0:
                continue
            y_low, y_high = _y(base[i], top), _y(base[i] + n, top)
            x = axis.x(t + axis.step / 2) - width / 2
            label = f"{axis.label(t)} {name}: {n}"
            marks.append(
                Mark(
                    round(x, 1), round(y_high, 1), round(width, 1), round(y_low - y_high, 1), label
                )
            )
            base[i] += n
        series.append(Series(name, css, "", tuple(marks)))
    return Chart(
        title,
        "bars",
        WIDTH,
        HEIGHT,
        LEFT,
        TOP,
        WIDTH - RIGHT,
        HEIGHT - BOTTOM,
        tuple(series),
        axis.ticks(),
        _y_ticks(top, lambda v: f"{v:g}"),
        empty=not any(totals),
    )
