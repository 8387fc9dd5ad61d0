"""What every dashboard page shares: the templates and their filters, the operator gate (a
bearer key, or a session started on `/login`), the check of every state-changing form (its
origin and anti-forgery token), and the page renderer, which reports how long the server took
(`Server-Timing`) and marks every page not to be cached or framed.

Templates autoescape everything; nothing a run recorded (user input, tool output, model text)
is ever marked safe, and charts reach the templates as numbers and plain labels.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from tether.access.control import AccessControl
from tether.access.operators import Operator, OperatorKeys, Permission
from tether.conversations import ConversationStore
from tether.core.errors import ErrorCode, TetherError
from tether.observe.feedback import FeedbackStore
from tether.observe.kpi_store import KpiStore
from tether.sdk.desk import Desk
from tether.server.dashboard_approvals import ApprovalInbox, as_inbox
from tether.server.dashboard_lineage import claim_table
from tether.server.inputs import plain_digits
from tether.server.security import NO_STORE, SECURITY_HEADERS, foreign_origin, posted_from_here
from tether.server.sessions import (
    CSRF_FIELD,
    LOGIN_COOKIE,
    SESSION_COOKIE,
    OperatorSessions,
    Session,
    tokens_match,
)

TEMPLATES_DIR = Path(__file__).parent / "templates"
MAX_FORM_BYTES = 4096
TIMING_HEADER = "Server-Timing"
MAX_PAGE_DIGITS = 7

# The top navigation: (label, route name), in order.
NAVIGATION = (
    ("Overview", "dashboard_overview"),
    ("Business", "dashboard_business"),
    ("Runs", "dashboard_runs"),
    ("Conversations", "dashboard_conversations"),
    ("Approvals", "dashboard_approvals"),
    ("Tools", "dashboard_tools"),
    ("Policies", "dashboard_policies"),
    ("Rollouts", "dashboard_rollouts"),
    ("Drift", "dashboard_drift"),
    ("Audit", "dashboard_audit"),
)


def timestamp(value: float | None) -> str:
    """A UTC time to the second ('' for none)."""
    if value is None:
        return ""
    return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def clock_time(value: float | None) -> str:
    """A UTC time to the second, without the zone (for columns headed 'UTC')."""
    return timestamp(value).removesuffix(" UTC")


def pretty(value: Any) -> str:
    # a plain str, not Markup: autoescaping still applies where it is shown
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


def duration(step: Mapping[str, Any]) -> str:
    """How long a recorded step took."""
    ms = max(0.0, (step["ended_at"] - step["started_at"]) * 1000)
    return f"{ms:.1f} ms" if ms < 1000 else f"{ms / 1000:.2f} s"


def percent(value: float | None) -> str:
    """A rate in [0, 1] as a percentage, '—' when there is nothing to divide."""
    return "—" if value is None else f"{value * 100:.1f}%"


def millis(value: float | None) -> str:
    """Milliseconds, switching to seconds past one second; '—' for none."""
    if value is None:
        return "—"
    return f"{value:.0f} ms" if value < 1000 else f"{value / 1000:.2f} s"


def short_release(release: str | None) -> str:
    """A release id cut to its first 8 hex digits, for tables (the full id goes in a title)."""
    return (release or "")[:12]


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
        undefined=jinja2.ChainableUndefined,  # recorded data may lack optional keys
    )
    env.filters.update(
        ts=timestamp,
        utc=clock_time,
        pretty=pretty,
        duration=duration,
        anchor=anchor,
        pct=percent,
        ms=millis,
        claim_table=claim_table,
        short_release=short_release,
    )
    return Jinja2Templates(env=env)


def bearer_key(request: Request) -> str | None:
    """The operator key a request carries as a bearer token, if any."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def cookie_options(request: Request) -> dict[str, Any]:
    """How the dashboard's cookies are set: never readable by scripts, never sent by another
    site, Secure when served over https."""
    return {
        "httponly": True,
        "samesite": "strict",
        "secure": request.url.scheme == "https",
        "path": "/",
    }


def form_field(form: Mapping[str, list[str]], name: str) -> str:
    """The first value of a parsed form's field ('' when absent)."""
    return (form.get(name) or [""])[0]


def start_timer(request: Request) -> None:
    """A router dependency: note when the request reached the dashboard."""
    request.state.dashboard_started = time.perf_counter()


class Dashboard:
    """The pages' shared state and helpers, over one desk and its operator keys."""

    def __init__(
        self,
        desk: Desk,
        keys: OperatorKeys,
        approvals: ApprovalInbox | None = None,
        sessions: OperatorSessions | None = None,
    ) -> None:
        self.desk = desk
        self.keys = keys
        self.sessions = sessions or OperatorSessions(desk.store.engine)
        self.templates = make_templates()
        self.kpis = KpiStore(desk.store.engine)
        self.feedback = FeedbackStore(desk.store.engine)
        self.conversations = ConversationStore(desk.store.engine)
        self._approvals = approvals
        self._access = desk.access

    @property
    def access(self) -> AccessControl:
        """The desk's access layer (opened over its store when the desk was built without)."""
        if self._access is None:
            self._access = AccessControl.open(self.desk.store.engine)
        return self._access

    def approvals(self, request: Request) -> ApprovalInbox | None:
        """The approvals inbox: the one given to the router, else the desk's approvals service
        (read when asked: approvals may be enabled after the app is built), else an inbox set
        as `app.state.approvals`."""
        if self._approvals is not None:
            return self._approvals
        return as_inbox(self.desk.approvals) or as_inbox(
            getattr(request.app.state, "approvals", None)
        )

    # -- the gate ---------------------------------------------------------------------------

    def gate(
        self, request: Request, permission: Permission = Permission.RUNS_READ
    ) -> Operator | HTMLResponse:
        """The operator, if the request carries a key whose role grants `permission`; else the
        login page (401) or an error page (403) to return instead."""
        try:
            operator = self.authenticate(request)
            request.state.operator = operator
            operator.require(permission)
        except TetherError as exc:
            if exc.code is ErrorCode.ROLE_FORBIDDEN:
                return self.error(request, 403, exc.code, exc.message)
            if exc.code in (ErrorCode.AUTH_REQUIRED, ErrorCode.AUTH_INVALID):
                return self.login(request, 401, exc)
            raise
        return operator

    def authenticate(self, request: Request) -> Operator:
        """Who the request is from: the bearer key's operator, else the session's (remembered
        as `request.state.session`); AUTH_REQUIRED or AUTH_INVALID otherwise."""
        bearer = bearer_key(request)
        if bearer is not None:
            return self.keys.authenticate(bearer)
        session = self.sessions.resolve(request.cookies.get(SESSION_COOKIE))
        request.state.session = session
        return session.operator

    def refuse_forgery(
        self, request: Request, form: Mapping[str, list[str]]
    ) -> HTMLResponse | None:
        """An error page for a state-changing form that may be forged, else None.

        A foreign `Origin` is always refused. A request that a session authenticated must also
        show it came from this site (`Origin`, else `Referer`) and carry the session's token;
        a bearer key is exempt from both, since a browser never attaches one on its own."""
        if foreign_origin(request):
            detail = "the form was posted from another site"
            return self.error(request, 403, ErrorCode.ORIGIN_FORBIDDEN, detail)
        session: Session | None = getattr(request.state, "session", None)
        if session is None:
            return None
        if not posted_from_here(request):
            detail = "the form does not show that it was posted from this site"
            return self.error(request, 403, ErrorCode.ORIGIN_FORBIDDEN, detail)
        if not tokens_match(session.csrf_token, form_field(form, CSRF_FIELD)):
            detail = "the form's anti-forgery token is missing or stale; reload the page"
            return self.error(request, 403, ErrorCode.CSRF_TOKEN_INVALID, detail)
        return None

    # -- rendering --------------------------------------------------------------------------

    def render(
        self, request: Request, name: str, context: Mapping[str, Any], status: int = 200
    ) -> HTMLResponse:
        """A page, with the navigation, the operator, and the server time it took."""
        operator = getattr(request.state, "operator", None)
        session: Session | None = getattr(request.state, "session", None)
        full = {
            "navigation": NAVIGATION,
            "operator": operator,
            "can_decide": operator is not None and operator.can(Permission.APPROVALS_DECIDE),
            "csrf_field": CSRF_FIELD,
            "csrf_token": session.csrf_token if session is not None else "",
            **context,
        }
        response = self.templates.TemplateResponse(request, name, full, status_code=status)
        # also set by the app's middleware; here too for a dashboard mounted on its own
        for header, value in SECURITY_HEADERS.items():
            response.headers.setdefault(header, value)
        response.headers["Cache-Control"] = NO_STORE
        started = getattr(request.state, "dashboard_started", None)
        if started is not None:
            elapsed_ms = (time.perf_counter() - started) * 1000
            response.headers[TIMING_HEADER] = f"app;dur={elapsed_ms:.1f}"
        return response

    def error(self, request: Request, status: int, code: ErrorCode, detail: str) -> HTMLResponse:
        """An error page naming the stable code."""
        context = {"status": status, "code": code.value, "detail": detail}
        return self.render(request, "error.html", context, status)

    def login(
        self, request: Request, status: int = 200, problem: TetherError | None = None
    ) -> HTMLResponse:
        """The login form, with the problem that sent the caller there. The form's token pairs
        with a nonce in a cookie (the browser's own, if it holds one); a session cookie that no
        longer works is dropped."""
        nonce = self.sessions.login_nonce(request.cookies.get(LOGIN_COOKIE))
        context = {
            "code": problem.code.value if problem else "",
            "detail": problem.message if problem else "",
            "csrf_token": self.sessions.login_token(nonce),
        }
        response = self.render(request, "login.html", context, status)
        response.set_cookie(LOGIN_COOKIE, nonce, **cookie_options(request))
        if status == 401 and SESSION_COOKIE in request.cookies:
            response.delete_cookie(SESSION_COOKIE, path="/")
        return response


def page_number(text: str) -> int:
    """A list's `page` parameter (1 or more); BAD_REQUEST otherwise."""
    if not plain_digits(text) or len(text) > MAX_PAGE_DIGITS or int(text) < 1:
        raise TetherError(ErrorCode.BAD_REQUEST, "page must be 1 or more")
    return int(text)


TIME_INPUT = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> sends, read as UTC


def time_input(value: float) -> str:
    """A time as a `datetime-local` field value (UTC, to the minute)."""
    return datetime.fromtimestamp(value, UTC).strftime(TIME_INPUT)


def parse_time_input(text: str) -> float:
    """A `datetime-local` value (or the same with seconds) as epoch seconds, read as UTC;
    BAD_REQUEST otherwise."""
    for layout in (TIME_INPUT, TIME_INPUT + ":%S"):
        try:
            return datetime.strptime(text, layout).replace(tzinfo=UTC).timestamp()
        except ValueError:
            continue
    raise TetherError(ErrorCode.BAD_REQUEST, f"times look like 2025-01-31T14:05, not {text[:40]!r}")
