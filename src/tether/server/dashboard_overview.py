"""The overview page: KPI tiles and time-series charts over a chosen window, read from the
per-minute rollups (never from the runs themselves, so it costs the same at any run count)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from tether.access.operators import Operator
from tether.core.errors import ErrorCode
from tether.observe.kpi import KpiPoint, merge
from tether.server.dashboard_charts import Axis, Chart, bar_chart, line_chart
from tether.server.dashboard_core import millis, percent, time_input
from tether.store.runs import RunFilter

if TYPE_CHECKING:
    from tether.server.dashboard_core import Dashboard

MAX_AGENT_CHARS = 128
RECENT_RUNS = 8
TOP_ROWS = 6


@dataclass(frozen=True)
class Window:
    """A selectable time window and the width of its chart buckets."""

    name: str
    seconds: int
    step: int  # a multiple of 60: rollups are per minute

    def axis(self, now: float) -> Axis:
        """The window ending with the bucket that holds `now`."""
        end = math.ceil((now + 1) / self.step) * self.step
        return Axis(end - self.seconds, end, self.step)


WINDOWS = {
    w.name: w
    for w in (
        Window("1h", 3_600, 60),
        Window("6h", 21_600, 300),
        Window("24h", 86_400, 900),
        Window("7d", 604_800, 7_200),
        Window("30d", 2_592_000, 21_600),
    )
}
DEFAULT_WINDOW = "24h"


def chosen_window(dash: Dashboard, request: Request, name: str) -> Window | HTMLResponse:
    """The window a page's `window` parameter names, or a 400 page listing the choices."""
    chosen = WINDOWS.get(name)
    if chosen is None:
        detail = f"window must be one of {', '.join(WINDOWS)}"
        return dash.error(request, 400, ErrorCode.BAD_REQUEST, detail)
    return chosen


@dataclass(frozen=True)
class Tile:
    label: str
    value: str
    detail: str
    href: str = ""
    tone: str = ""  # ok | warn | bad, or '' for neutral


def _tone(rate: float | None, warn: float, bad: float) -> str:
    if rate is None:
        return ""
    return "bad" if rate >= bad else "warn" if rate >= warn else "ok"


def tiles(total: KpiPoint, runs_url: Callable[..., str], tools_url: str) -> list[Tile]:
    """The headline numbers of the window."""
    n = total.count
    csat = total.csat_mean
    feedback = f"{n('feedback')} feedback" + (f" · CSAT {csat:.1f}" if csat is not None else "")
    return [
        Tile(
            "Runs", str(total.runs), f"{n('answers')} answers · {n('actions')} actions", runs_url()
        ),
        Tile(
            "Success rate",
            percent(total.success_rate),
            "ended in an answer or an action",
            tone=_tone(None if total.success_rate is None else 1 - total.success_rate, 0.2, 0.5),
        ),
        Tile(
            "Refused by verification",
            percent(total.refused_by_verification),
            f"{n('answers_ungrounded')} of {n('answers_checked')} checked answers stopped",
            tone=_tone(total.refused_by_verification, 0.02, 0.1),
        ),
        Tile(
            "Tool error rate",
            percent(total.tool_error_rate),
            f"{n('tool_errors')} of {n('tool_calls')} tool calls failed",
            tools_url,
            _tone(total.tool_error_rate, 0.05, 0.2),
        ),
        Tile(
            "Escalation rate",
            percent(total.escalation_rate),
            f"{n('escalations')} runs handed to a person",
            runs_url(decision="escalation"),
        ),
        Tile(
            "Refusal rate",
            percent(total.refusal_rate),
            f"{n('refusals')} runs refused",
            runs_url(decision="refusal"),
        ),
        Tile(
            "Latency p50 · p95",
            f"{millis(total.latency_ms(0.5))} · {millis(total.latency_ms(0.95))}",
            "whole runs, request to decision",
        ),
        Tile("Resolved", percent(total.resolved_rate), feedback),
    ]


def charts(axis: Axis, points: dict[int, KpiPoint]) -> list[Chart]:
    """The time series of the window, one value per bucket (None where nothing happened)."""
    buckets = [points.get(t) for t in axis.buckets]

    def series(value: Callable[[KpiPoint], float | None]) -> list[float | None]:
        return [value(p) if p is not None else None for p in buckets]

    def notes(what: Callable[[KpiPoint], str]) -> list[str]:
        return [what(p) if p is not None else "" for p in buckets]

    runs = notes(lambda p: f"{p.runs} runs")
    return [
        line_chart(
            "Success rate",
            axis,
            [("success", "ok", series(lambda p: p.success_rate))],
            percent,
            1.0,
            runs,
        ),
        line_chart(
            "Answer verification",
            axis,
            [
                ("refused by verification", "bad", series(lambda p: p.refused_by_verification)),
                ("unsupported claims", "s1", series(lambda p: p.unsupported_claims)),
            ],
            percent,
            1.0,
            notes(lambda p: f"{p.count('answers_checked')} answers checked"),
        ),
        line_chart(
            "Tool error frequency",
            axis,
            [("tool errors", "bad", series(lambda p: p.tool_error_rate))],
            percent,
            1.0,
            notes(lambda p: f"{p.count('tool_errors')} of {p.count('tool_calls')} calls"),
        ),
        line_chart(
            "Escalations and refusals",
            axis,
            [
                ("escalation", "warn", series(lambda p: p.escalation_rate)),
                ("refusal", "bad", series(lambda p: p.refusal_rate)),
            ],
            percent,
            1.0,
            runs,
        ),
        line_chart(
            "Latency",
            axis,
            [
                ("p50", "s0", series(lambda p: p.latency_ms(0.5))),
                ("p95", "s1", series(lambda p: p.latency_ms(0.95))),
            ],
            millis,
            None,
            runs,
        ),
        bar_chart(
            "Feedback outcomes",
            axis,
            [
                ("resolved", "ok", [p.count("resolved") if p else 0 for p in buckets]),
                (
                    "not resolved",
                    "bad",
                    [p.count("feedback") - p.count("resolved") if p else 0 for p in buckets],
                ),
            ],
        ),
    ]


def _rows(rows: Sequence[Any]) -> list[dict[str, Any]]:
    return [r.to_dict() for r in rows[:TOP_ROWS]]


def add_overview_routes(router: APIRouter, dash: Dashboard) -> None:
    """`GET /overview`: tiles, charts, top reasons, tool errors, rule hits and recent runs."""

    @router.get("/overview", response_class=HTMLResponse, name="dashboard_overview")
    def overview(request: Request, window: str = DEFAULT_WINDOW, agent: str = "") -> HTMLResponse:
        gate = dash.gate(request)
        if not isinstance(gate, Operator):
            return gate
        chosen = chosen_window(dash, request, window)
        if not isinstance(chosen, Window):
            return chosen
        agent = agent.strip()
        if len(agent) > MAX_AGENT_CHARS:
            detail = f"agent names are at most {MAX_AGENT_CHARS} characters"
            return dash.error(request, 400, ErrorCode.BAD_REQUEST, detail)
        axis = chosen.axis(time.time())
        who = agent or None
        series = dash.kpis.series(who, axis.start, axis.end, axis.step)
        points = {p.start: p for p in series}
        total = merge(series, axis.start)
        since = time_input(axis.start)

        def runs_url(**params: str) -> str:
            query = {"since": since, "agent": agent, **params}
            url = request.url_for("dashboard_runs")
            return str(url.include_query_params(**{k: v for k, v in query.items() if v}))

        recent = dash.desk.store.list_runs(RunFilter(agent=who), limit=RECENT_RUNS)
        agents = sorted({*dash.desk.runtime.agents, *dash.kpis.agents(axis.start, axis.end)})
        context = {
            "window": chosen.name,
            "windows": list(WINDOWS),
            "agent": agent,
            "agents": agents,
            "since": axis.start,
            "until": axis.end,
            "tiles": tiles(total, runs_url, str(request.url_for("dashboard_tools"))),
            "charts": charts(axis, points),
            "decisions": _rows(dash.kpis.counts("decision", who, axis.start, axis.end)),
            "tool_errors": _rows(dash.kpis.tool_error_counts(who, axis.start, axis.end)),
            "rule_hits": _rows(dash.kpis.rule_hit_counts(who, axis.start, axis.end)),
            "recent": [r.to_dict() for r in recent],
            "runs_url": runs_url,
        }
        return dash.render(request, "overview.html", context)
