"""The server-rendered operator dashboard: overview, runs, one run and one step, conversations
turn by turn, approvals, tools, policies and the audit trail, plus the login form.

Templates autoescape everything; nothing a run recorded (user input, tool output, model text)
is ever marked safe. Every page needs an operator key with read rights: sent as a bearer token,
or entered once on `/login`, which keeps it in an HttpOnly, SameSite=Strict cookie. Deciding
approvals needs the approver (or admin) role; the audit page needs `audit:read`.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tether.access.operators import OperatorKeys, Permission
from tether.core.errors import ErrorCode, TetherError
from tether.sdk.desk import Desk
from tether.server.dashboard_approvals import ApprovalInbox, add_approval_routes
from tether.server.dashboard_audit import add_audit_routes
from tether.server.dashboard_conversations import add_conversation_routes
from tether.server.dashboard_core import (
    SESSION_COOKIE,
    Dashboard,
    anchor,
    make_templates,
    start_timer,
)
from tether.server.dashboard_overview import add_overview_routes
from tether.server.dashboard_policies import add_policy_routes
from tether.server.dashboard_runs import PAGE_SIZE, add_run_routes
from tether.server.dashboard_tools import add_tool_routes

MAX_LOGIN_BYTES = 4096

__all__ = [
    "MAX_LOGIN_BYTES",
    "PAGE_SIZE",
    "SESSION_COOKIE",
    "anchor",
    "dashboard_router",
    "make_templates",
]


def dashboard_router(
    desk: Desk, keys: OperatorKeys, approvals: ApprovalInbox | None = None
) -> APIRouter:
    """The dashboard's routes, left out of the OpenAPI document. The approvals inbox decides
    through `approvals`, else the desk's approvals service, else `app.state.approvals`, else
    it is read-only."""
    dash = Dashboard(desk, keys, approvals)
    router = APIRouter(include_in_schema=False, dependencies=[Depends(start_timer)])

    @router.get("/login", response_class=HTMLResponse, name="dashboard_login_form")
    def login_form(request: Request) -> HTMLResponse:
        return dash.login(request)

    @router.post("/login", response_class=HTMLResponse, name="dashboard_login")
    async def login(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_LOGIN_BYTES:
            return dash.error(request, 413, ErrorCode.INPUT_TOO_LARGE, "the form is too large")
        key = (parse_qs(body.decode("utf-8", "replace")).get("key") or [""])[0].strip()
        try:
            keys.authenticate(key).require(Permission.RUNS_READ)
        except TetherError as exc:
            if exc.code is ErrorCode.ROLE_FORBIDDEN:
                return dash.login(request, 403, exc)
            if exc.code in (ErrorCode.AUTH_REQUIRED, ErrorCode.AUTH_INVALID):
                return dash.login(request, 401, exc)
            raise
        response = RedirectResponse(str(request.url_for("dashboard_overview")), status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            key,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )
        return response

    @router.post("/logout", name="dashboard_logout")
    def logout(request: Request) -> Response:
        response = RedirectResponse(str(request.url_for("dashboard_login_form")), status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    add_overview_routes(router, dash)
    add_run_routes(router, dash)
    add_conversation_routes(router, dash)
    add_approval_routes(router, dash)
    add_tool_routes(router, dash)
    add_policy_routes(router, dash)
    add_audit_routes(router, dash)
    return router
