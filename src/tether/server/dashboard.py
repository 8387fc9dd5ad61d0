"""The server-rendered operator dashboard: overview, runs, one run and one step, conversations
turn by turn, approvals, tools, policies and the audit trail, plus the login form.

Templates autoescape everything; nothing a run recorded (user input, tool output, model text)
is ever marked safe. Every page needs an operator key with read rights: sent as a bearer token,
or entered once on `/login`, which starts a server-side session (see `tether.server.sessions`);
the cookie holds only the session's random id. Every form that changes something, login and
logout included, must come from this site and carry its anti-forgery token, and failed logins
are limited per client address and per key id. Deciding approvals needs the approver (or admin)
role; the audit page needs `audit:read`.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from tether.access.operators import OperatorKeys, Permission
from tether.core.errors import ErrorCode, TetherError
from tether.sdk.desk import Desk
from tether.server.dashboard_approvals import ApprovalInbox, add_approval_routes
from tether.server.dashboard_audit import add_audit_routes
from tether.server.dashboard_business import add_business_routes
from tether.server.dashboard_conversations import add_conversation_routes
from tether.server.dashboard_core import (
    Dashboard,
    anchor,
    bearer_key,
    cookie_options,
    form_field,
    make_templates,
    start_timer,
)
from tether.server.dashboard_drift import add_drift_routes
from tether.server.dashboard_overview import add_overview_routes
from tether.server.dashboard_policies import add_policy_routes
from tether.server.dashboard_rollouts import add_rollout_routes
from tether.server.dashboard_runs import PAGE_SIZE, add_run_routes
from tether.server.dashboard_tools import add_tool_routes
from tether.server.security import (
    LoginAttempts,
    login_attempts_from_env,
    login_subjects,
    posted_from_here,
)
from tether.server.sessions import (
    CSRF_FIELD,
    LOGIN_COOKIE,
    SESSION_COOKIE,
    OperatorSessions,
    Session,
)

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
    desk: Desk,
    keys: OperatorKeys,
    approvals: ApprovalInbox | None = None,
    sessions: OperatorSessions | None = None,
    throttle: LoginAttempts | None = None,
) -> APIRouter:
    """The dashboard's routes, left out of the OpenAPI document. The approvals inbox decides
    through `approvals`, else the desk's approvals service, else `app.state.approvals`, else
    it is read-only. Sessions live in the desk's store (lifetimes from the environment, see
    `SessionPolicy.from_env`) unless `sessions` is given; failed logins are counted by
    `throttle` (by default 5 a minute per address and per key id, in Redis when
    TETHER_REDIS_URL is set)."""
    dash = Dashboard(desk, keys, approvals, sessions)
    throttle = throttle or login_attempts_from_env()
    router = APIRouter(include_in_schema=False, dependencies=[Depends(start_timer)])

    @router.get("/login", response_class=HTMLResponse, name="dashboard_login_form")
    def login_form(request: Request) -> HTMLResponse:
        return dash.login(request)

    @router.post("/login", response_class=HTMLResponse, name="dashboard_login")
    async def login(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_LOGIN_BYTES:
            return dash.error(request, 413, ErrorCode.INPUT_TOO_LARGE, "the form is too large")
        if not posted_from_here(request):  # login CSRF: a session the victim never asked for
            detail = "the login form must be posted from this site"
            return dash.login(request, 403, TetherError(ErrorCode.ORIGIN_FORBIDDEN, detail))
        form = parse_qs(body.decode("utf-8", "replace"))
        nonce = request.cookies.get(LOGIN_COOKIE)
        if not await run_in_threadpool(
            dash.sessions.login_token_valid, nonce, form_field(form, CSRF_FIELD)
        ):
            detail = "the login form's anti-forgery token is missing or stale; try again"
            return dash.login(request, 403, TetherError(ErrorCode.CSRF_TOKEN_INVALID, detail))
        key = form_field(form, "key").strip()
        subjects = login_subjects(request, key)
        wait = await run_in_threadpool(throttle.retry_after, *subjects)
        if wait:
            detail = f"too many failed logins; try again in {wait} s"
            refused = dash.login(request, 429, TetherError(ErrorCode.LOGIN_RATE_LIMITED, detail))
            refused.headers["Retry-After"] = str(wait)
            return refused
        try:
            operator = await run_in_threadpool(keys.authenticate, key)
            operator.require(Permission.RUNS_READ)
        except TetherError as exc:
            if exc.code is ErrorCode.ROLE_FORBIDDEN:
                return dash.login(request, 403, exc)
            if exc.code in (ErrorCode.AUTH_REQUIRED, ErrorCode.AUTH_INVALID):
                await run_in_threadpool(throttle.failed, *subjects)
                return dash.login(request, 401, exc)
            raise
        # a new id at every login; the one the browser held before (if any) ends
        session_id, _ = await run_in_threadpool(
            dash.sessions.start, operator, request.cookies.get(SESSION_COOKIE)
        )
        response = RedirectResponse(str(request.url_for("dashboard_overview")), status_code=303)
        response.set_cookie(SESSION_COOKIE, session_id, **cookie_options(request))
        response.delete_cookie(LOGIN_COOKIE, path="/")
        return response

    @router.post("/logout", name="dashboard_logout")
    async def logout(request: Request) -> Response:
        session_id = request.cookies.get(SESSION_COOKIE)
        session: Session | None = None
        if bearer_key(request) is None and session_id:
            try:
                session = await run_in_threadpool(dash.sessions.resolve, session_id)
            except TetherError:
                session = None  # already over: only the cookie is left to drop
        if session is not None:
            request.state.session, request.state.operator = session, session.operator
            body = await request.body()
            if len(body) > MAX_LOGIN_BYTES:
                return dash.error(request, 413, ErrorCode.INPUT_TOO_LARGE, "the form is too large")
            refused = dash.refuse_forgery(request, parse_qs(body.decode("utf-8", "replace")))
            if refused is not None:
                return refused
            await run_in_threadpool(dash.sessions.end, session_id)
        response = RedirectResponse(str(request.url_for("dashboard_login_form")), status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    add_overview_routes(router, dash)
    add_business_routes(router, dash)
    add_drift_routes(router, dash)
    add_run_routes(router, dash)
    add_conversation_routes(router, dash)
    add_approval_routes(router, dash)
    add_tool_routes(router, dash)
    add_policy_routes(router, dash)
    add_rollout_routes(router, dash)
    add_audit_routes(router, dash)
    return router
