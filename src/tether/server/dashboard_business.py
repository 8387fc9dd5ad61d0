"""The business page: each release's business KPIs over a window (cost, handle time,
first-contact resolution, compliance incidents by rule, audit completeness, evidence age)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from tether.access.operators import Operator
from tether.core.errors import TetherError
from tether.observe.business import headline
from tether.observe.business_source import BusinessSettings, business_kpis, registry_facts
from tether.server.dashboard_overview import DEFAULT_WINDOW, WINDOWS, Window, chosen_window

if TYPE_CHECKING:
    from tether.server.dashboard_core import Dashboard


def add_business_routes(router: APIRouter, dash: Dashboard) -> None:
    """`GET /business`."""

    @router.get("/business", response_class=HTMLResponse, name="dashboard_business")
    def business_page(request: Request, window: str = DEFAULT_WINDOW) -> HTMLResponse:
        gate = dash.gate(request)
        if not isinstance(gate, Operator):
            return gate
        chosen = chosen_window(dash, request, window)
        if not isinstance(chosen, Window):
            return chosen
        now = time.time()
        axis = chosen.axis(now)
        try:
            settings = BusinessSettings.from_env()
            report = business_kpis(
                dash.desk.store.engine,
                axis.start,
                axis.end,
                settings.prices,
                registry=registry_facts(dash.desk.runtime.tools.specs()),
                now=now,
                follow_up_s=settings.follow_up_s,
            )
        except TetherError as exc:
            return dash.error(request, exc.code.info.http_status, exc.code, exc.message)
        releases = [{**r, "kpis": headline(r)} for r in report["releases"]]
        context = {
            "releases": releases,
            "window": chosen.name,
            "windows": list(WINDOWS),
            "since": axis.start,
            "follow_up_h": round(settings.follow_up_s / 3600, 2),
            "priced": sorted(settings.prices.prices),
        }
        return dash.render(request, "business.html", context)
