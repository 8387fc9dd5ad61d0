"""The server-rendered dashboard: the runs list and each run's decision, steps and evidence.

Templates autoescape everything; nothing a run recorded (user input, tool output, model text)
is ever marked safe.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from tether.core.errors import ErrorCode, TetherError
from tether.core.types import DecisionKind, Run
from tether.retail.desk import RetailDesk
from tether.store.runs import RunFilter

TEMPLATES_DIR = Path(__file__).parent / "templates"
PAGE_SIZE = 25
PREVIEW_CHARS = 90


def _timestamp(value: float | None) -> str:
    if value is None:
        return ""
    return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _pretty(value: Any) -> str:
    # a plain str, not Markup: autoescaping still applies where it is shown
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


def _duration(step: Mapping[str, Any]) -> str:
    ms = max(0.0, (step["ended_at"] - step["started_at"]) * 1000)
    return f"{ms:.1f} ms" if ms < 1000 else f"{ms / 1000:.2f} s"


def anchor(evidence_id: str) -> str:
    """An HTML id for an evidence id (evidence ids contain ':' and '#')."""
    return "ev-" + re.sub(r"[^A-Za-z0-9_-]", "-", evidence_id)


def make_templates() -> Jinja2Templates:
    """The dashboard's template set, with autoescaping on for every template."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(ts=_timestamp, pretty=_pretty, duration=_duration, anchor=anchor)
    return Jinja2Templates(env=env)


def _preview(run: Run) -> str:
    messages = run.input.get("messages") or []
    users = [m.get("content", "") for m in messages if m.get("role") == "user"]
    text = " ".join(str(users[-1]).split()) if users else ""
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def _evidence_index(run: Run) -> dict[str, str]:
    """Evidence id -> title (or tool name) for every passage and tool result in the run."""
    index: dict[str, str] = {}
    for step in run.steps:
        for ev in step.data.get("evidence", ()):
            index[ev["id"]] = ev.get("title") or ev.get("source", "")
        if step.data.get("evidence_id"):
            index[step.data["evidence_id"]] = f"result of {step.data.get('tool', step.name)}"
    return index


def dashboard_router(desk: RetailDesk) -> APIRouter:
    """Routes for `/` (runs) and `/runs/{run_id}` (one run), left out of the OpenAPI document."""
    templates = make_templates()
    router = APIRouter(include_in_schema=False)

    def error_page(request: Request, status: int, code: ErrorCode, detail: str) -> HTMLResponse:
        context = {"status": status, "code": code.value, "detail": detail}
        return templates.TemplateResponse(request, "error.html", context, status_code=status)

    @router.get("/", response_class=HTMLResponse, name="dashboard_runs")
    def runs_page(
        request: Request, decision: str = "", principal: str = "", page: str = "1"
    ) -> HTMLResponse:
        decision, principal = decision.strip(), principal.strip()
        kinds = [k.value for k in DecisionKind]
        if decision and decision not in kinds:
            detail = f"decision must be one of {', '.join(kinds)}"
            return error_page(request, 400, ErrorCode.BAD_REQUEST, detail)
        if not page.isdigit() or int(page) < 1:
            return error_page(request, 400, ErrorCode.BAD_REQUEST, "page must be 1 or more")
        number = int(page)
        base = RunFilter(principal_id=principal or None)
        counts = {"all": desk.store.count_runs(base)}
        for kind in DecisionKind:
            counts[kind.value] = desk.store.count_runs(
                RunFilter(decision=kind, principal_id=base.principal_id)
            )
        filt = RunFilter(
            decision=DecisionKind(decision) if decision else None,
            principal_id=base.principal_id,
        )
        total = counts[decision] if decision else counts["all"]
        pages = max(1, math.ceil(total / PAGE_SIZE))
        runs = desk.store.list_runs(filt, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE)

        def link(**changes: Any) -> str:
            params = {"decision": decision, "principal": principal, "page": number, **changes}
            query = urlencode({k: v for k, v in params.items() if v not in ("", None, 1)})
            return str(request.url_for("dashboard_runs").replace(query=query))

        context = {
            "runs": [{**r.to_dict(), "preview": _preview(r)} for r in runs],
            "counts": counts,
            "kinds": kinds,
            "decision": decision,
            "principal": principal,
            "page": number,
            "pages": pages,
            "total": total,
            "prev_url": link(page=number - 1) if number > 1 else None,
            "next_url": link(page=number + 1) if number < pages else None,
            "kind_urls": {k: link(decision=k, page=1) for k in ["", *kinds]},
        }
        return templates.TemplateResponse(request, "runs.html", context)

    @router.get("/runs/{run_id}", response_class=HTMLResponse, name="dashboard_run")
    def run_page(request: Request, run_id: str) -> HTMLResponse:
        try:
            run = desk.store.get_run(run_id)
        except TetherError as exc:
            if exc.code is not ErrorCode.RUN_NOT_FOUND:
                raise
            return error_page(request, 404, exc.code, exc.message)
        scope = next((s for s in run.steps if s.kind.value == "scope"), None)
        context = {
            "run": run.to_dict(with_steps=True),
            "model": scope.data.get("model", "") if scope else "",
            "evidence_index": _evidence_index(run),
        }
        return templates.TemplateResponse(request, "run.html", context)

    return router
