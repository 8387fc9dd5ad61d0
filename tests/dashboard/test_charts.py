"""Chart geometry: buckets without data break the line, bars stack, axes round up."""

from __future__ import annotations

import re

import pytest

from tether.server.dashboard_charts import HEIGHT, Axis, bar_chart, line_chart, nice_ceiling


@pytest.mark.parametrize(
    ("value", "ceiling"),
    [(0, 1.0), (0.3, 0.5), (1, 1.0), (1.2, 2.0), (2.2, 2.5), (38, 50.0), (760, 1000.0)],
)
def test_nice_ceiling(value: float, ceiling: float) -> None:
    assert nice_ceiling(value) == ceiling


def test_a_missing_bucket_breaks_the_line() -> None:
    axis = Axis(0, 300, 60)
    chart = line_chart("Rate", axis, [("rate", "ok", [0.5, None, 1.0, 0.0, None])], str, 1.0)
    (series,) = chart.series
    moves = re.findall(r"[ML]", series.path)
    assert moves == ["M", "M", "L"]  # one lone point, then a segment of two
    assert [m.label.split()[-1] for m in series.marks] == ["0.5", "1.0", "0.0"]
    ys = [m.y for m in series.marks]
    assert ys[1] < ys[0] < ys[2]  # higher values are drawn higher up
    assert not chart.empty and chart.y_ticks[-1].label == "1.0"


def test_an_empty_window_is_marked_empty() -> None:
    chart = line_chart("Latency", Axis(0, 120, 60), [("p50", "s0", [None, None])], str)
    assert chart.empty and chart.series[0].path == ""


def test_bars_stack_to_their_total() -> None:
    axis = Axis(0, 120, 60)
    chart = bar_chart("Feedback", axis, [("yes", "ok", [3, 0]), ("no", "bad", [1, 2])])
    yes, no = chart.series
    assert len(yes.marks) == 1 and len(no.marks) == 2
    first_yes, first_no = yes.marks[0], no.marks[0]
    assert first_no.y + first_no.h == pytest.approx(first_yes.y)  # "no" sits on top of "yes"
    plot = HEIGHT - chart.top - (HEIGHT - chart.bottom)
    assert first_yes.h + first_no.h == pytest.approx(plot * 4 / 5, abs=0.2)  # 4 of a 5 axis
