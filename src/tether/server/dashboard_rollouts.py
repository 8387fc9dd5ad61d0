"""The rollouts page: the running rollout (else the latest) with both arms' KPIs side by side,
each guard's test and the reason it stands where it does, and the rollouts before it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from tether.access.operators import Operator
from tether.release.rollout import Rollouts
from tether.release.rollout_guards import KPIS
from tether.release.rollout_looks import BASELINE, CANDIDATE
from tether.release.store import ReleaseStore

if TYPE_CHECKING:
    from tether.server.dashboard_core import Dashboard

ROLLOUTS_SHOWN = 10


def kpi_rows(arms: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per KPI with both arms' values and what the KPI means."""
    base, cand = arms.get(BASELINE, {}), arms.get(CANDIDATE, {})
    rows = [{"name": "n", "meaning": "concluded conversations", "baseline": base.get("n"),
             "candidate": cand.get("n")}]  # fmt: skip
    for name, kpi in KPIS.items():
        rows.append({"name": name, "meaning": kpi.meaning, "baseline": base.get(name),
                     "candidate": cand.get(name)})  # fmt: skip
    return rows


def add_rollout_routes(router: APIRouter, dash: Dashboard) -> None:
    """`GET /rollouts` (read-only)."""

    @router.get("/rollouts", response_class=HTMLResponse, name="dashboard_rollouts")
    def rollouts_page(request: Request) -> HTMLResponse:
        gate = dash.gate(request)
        if not isinstance(gate, Operator):
            return gate
        access = dash.access
        found = Rollouts(ReleaseStore(access.engine, access.audit), access.audit)
        recent = found.recent(ROLLOUTS_SHOWN)
        shown = next((r for r in recent if r.state == "running"), recent[0] if recent else None)
        status = shown.status() if shown is not None else None
        context = {
            "rollout": shown,
            "status": status,
            "kpis": kpi_rows(status["arms"]) if status else [],
            "recent": recent,
        }
        return dash.render(request, "rollouts.html", context)
