"""The tools page: each registered tool's health over a window (calls, failures by error code,
breaker state) and its contract and envelope settings."""

from __future__ import annotations

import time
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import Engine, func, select

from tether.access.operators import Operator
from tether.access.storage import connect
from tether.core.types import StepKind
from tether.server.dashboard_overview import DEFAULT_WINDOW, WINDOWS, Window, chosen_window
from tether.store.schema import steps
from tether.tools.shared_state import SharedState

if TYPE_CHECKING:
    from tether.server.dashboard_core import Dashboard


def tool_calls(engine: Engine, since: float, until: float) -> dict[str, int]:
    """Tool executions per tool whose step started in [since, until)."""
    query = (
        select(steps.c.name, func.count())
        .where(
            steps.c.kind == StepKind.TOOL.value,
            steps.c.started_at >= since,
            steps.c.started_at < until,
        )
        .group_by(steps.c.name)
    )
    with connect(engine) as conn:
        return {str(name): int(n) for name, n in conn.execute(query)}


def breaker_state(executor: object, tool: str) -> str | None:
    """The tool's breaker state as the runtime's executor sees it (None: no shared state)."""
    state: SharedState | None = getattr(executor, "state", None)
    if state is None or not callable(getattr(state, "breaker", None)):
        return None
    return str(state.breaker(tool).value)


def tool_rows(dash: Dashboard, since: float, until: float) -> list[dict[str, Any]]:
    """One row per registered tool: its spec, envelope, calls, failures and breaker."""
    registry = dash.desk.runtime.tools
    calls = tool_calls(dash.desk.store.engine, since, until)
    errors: dict[str, dict[str, int]] = defaultdict(dict)
    for row in dash.kpis.tool_error_counts(None, since, until):
        errors[row.subject][row.key or "UNKNOWN"] = row.count
    rows = []
    for name in registry.names():
        tool = registry.get(name)
        if tool is None:
            continue
        spec = tool.spec
        failed = sum(errors[name].values())
        made = calls.get(name, 0)
        rows.append(
            {
                "name": name,
                "description": spec.description,
                "risk": spec.risk.value,
                "scopes": list(spec.required_scopes),
                "output_trust": spec.output_trust.value,
                "idempotent": spec.idempotent,
                "handoff": spec.handoff,
                "envelope": spec.envelope.to_dict(),
                "calls": made,
                "errors": sorted(errors[name].items(), key=lambda kv: (-kv[1], kv[0])),
                "failed": failed,
                "error_rate": failed / made if made else None,
                "breaker": breaker_state(dash.desk.runtime.executor, name)
                if spec.envelope.breaker is not None
                else None,
            }
        )
    return rows


def add_tool_routes(router: APIRouter, dash: Dashboard) -> None:
    """`GET /tools`."""

    @router.get("/tools", response_class=HTMLResponse, name="dashboard_tools")
    def tools_page(request: Request, window: str = DEFAULT_WINDOW) -> HTMLResponse:
        gate = dash.gate(request)
        if not isinstance(gate, Operator):
            return gate
        chosen = chosen_window(dash, request, window)
        if not isinstance(chosen, Window):
            return chosen
        axis = chosen.axis(time.time())
        rows = tool_rows(dash, axis.start, axis.end)
        context = {
            "tools": rows,
            "window": chosen.name,
            "windows": list(WINDOWS),
            "since": axis.start,
            "open_breakers": sum(1 for r in rows if r["breaker"] not in (None, "closed")),
        }
        return dash.render(request, "tools.html", context)
