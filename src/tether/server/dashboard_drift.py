"""The drift page: every drift monitor on the last window against its baseline (what fired,
by how much, on how many samples) and the latest run of a release's evaluation suite (a gate, or
a re-evaluation drift called for)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from tether.access.operators import Operator
from tether.core.errors import ErrorCode, TetherError
from tether.observe.business_source import registry_facts
from tether.observe.drift_source import detect_drift
from tether.observe.prices import PriceTable
from tether.release.evaluations import EvaluationStore
from tether.release.store import GATE_SUITE

if TYPE_CHECKING:
    from tether.server.dashboard_core import Dashboard

# the recent windows the page offers, in seconds; the baseline is the 7 times longer span before
CHOICES = {"6h": 21_600, "24h": 86_400, "7d": 604_800}
DEFAULT_CHOICE = "24h"


def add_drift_routes(router: APIRouter, dash: Dashboard) -> None:
    """`GET /drift`."""

    @router.get("/drift", response_class=HTMLResponse, name="dashboard_drift")
    def drift_page(request: Request, window: str = DEFAULT_CHOICE) -> HTMLResponse:
        gate = dash.gate(request)
        if not isinstance(gate, Operator):
            return gate
        recent = CHOICES.get(window)
        if recent is None:
            detail = f"window must be one of {', '.join(CHOICES)}"
            return dash.error(request, 400, ErrorCode.BAD_REQUEST, detail)
        try:
            prices = PriceTable.from_env()
            tools = registry_facts(dash.desk.runtime.tools.specs())
            report = detect_drift(
                dash.desk.store.engine, recent, 7 * recent, prices=prices, registry=tools
            )
        except TetherError as exc:
            return dash.error(request, exc.code.info.http_status, exc.code, exc.message)
        found = {"latest": EvaluationStore(dash.desk.store.engine).latest(suite=GATE_SUITE)}
        context = {
            "report": report.to_dict(),
            "window": window,
            "windows": list(CHOICES),
            "evaluations": {k: v.to_dict() for k, v in found.items() if v is not None},
        }
        return dash.render(request, "drift.html", context)
