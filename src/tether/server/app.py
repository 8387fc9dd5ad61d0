"""The HTTP API: start governed runs, read them back, and check the service's health.

`create_app` assembles the application: the routers of each part of the API, the workers and
background jobs it runs, and the middleware every request passes (request limits in
`tether.server.limits`, operator authentication in `tether.server.operator_auth`).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Query, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from tether.access.end_users import EndUserVerifier
from tether.access.operators import Permission
from tether.approvals.background import Background, Every
from tether.conversations import Conversations, ConversationStore
from tether.core.errors import ErrorCode, TetherError
from tether.core.shapes import MAX_NESTING
from tether.core.types import DecisionKind, RunStatus
from tether.models.base import ModelAdapter
from tether.models.factory import model_from_env
from tether.models.scripted import ScriptedModel, parse_script
from tether.observe.business_source import BusinessWatch, registry_facts
from tether.observe.drift import parse_duration
from tether.observe.drift_source import DriftWatch, detect_drift
from tether.observe.feedback import FeedbackStore
from tether.observe.logs import configure_from_env as configure_logging
from tether.observe.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from tether.observe.periodic import every_seconds
from tether.observe.prices import PriceTable
from tether.release.bundle import ID_PATTERN as RELEASE_ID
from tether.release.rollout_feed import RolloutFeed
from tether.sdk.desk import Desk, build_desk
from tether.sdk.domain import Domain
from tether.sdk.gate import reevaluate_in_force
from tether.sdk.releases import ReleaseDesks
from tether.server.admission import Admission
from tether.server.approvals_api import ApprovalsInbox, approvals_router
from tether.server.conversations_api import conversations_router
from tether.server.dashboard import dashboard_router
from tether.server.idempotency import IdempotencyMiddleware
from tether.server.inputs import MAX_OFFSET, StoredText
from tether.server.limits import DEFAULT_MAX_BODY_BYTES, BodyLimitMiddleware, UrlLimitMiddleware
from tether.server.operator_auth import (
    AUTH_CODES,
    OperatorAuthError,
    _on_auth_error,
    operator_keys,
    require,
)
from tether.server.problems import (
    install_problem_handlers,
    install_problem_openapi,
    problem_responses,
)
from tether.server.quotas import RunQuotas
from tether.server.readiness import readiness_router
from tether.server.run_events import MAX_WAIT_S, RunSignals, settled
from tether.server.run_models import (
    Health,
    RunDetail,
    RunPage,
)
from tether.server.runs_api import runs_router
from tether.server.security import SecurityHeadersMiddleware
from tether.server.timing import ServerTimingMiddleware
from tether.store.request_keys import RequestKeys
from tether.store.runs import RunFilter
from tether.workers.config import queue_depth, store_url, worker_threads
from tether.workers.executor import RunExecutor
from tether.workers.pg_queue import libpq_conninfo
from tether.workers.queue import open_queue
from tether.workers.recovery import Recovery
from tether.workers.settling import SettleNotifier, subscribe

STATIC_DIR = Path(__file__).parent / "static"
MAX_SCRIPT_DEPTH = MAX_NESTING
# a running rollout's looks at live traffic: every TETHER_ROLLOUT_LOOK_S seconds (0: none)
LOOK_ENV, DEFAULT_LOOK_S, LOOK_POLL_S = "TETHER_ROLLOUT_LOOK_S", 30.0, 5.0
# ... and how often it checks whether the release in force needs evaluating again (0: never)
REEVALUATE_ENV, DEFAULT_REEVALUATE_S = "TETHER_DRIFT_REEVALUATE_S", 3600.0


def _version() -> str:
    try:
        return metadata.version("tether")
    except metadata.PackageNotFoundError:  # running from a source tree that isn't installed
        return "0.0.0"


def scripts_allowed(environ: Mapping[str, str] | None = None) -> bool:
    """Scripted model turns (tests, demos) are accepted unless TETHER_MODEL names a real model."""
    spec = (os.environ if environ is None else environ).get("TETHER_MODEL", "").strip()
    return not spec or spec.lower().startswith("scripted:")


def model_choice(
    make_model: Callable[[], ModelAdapter], allow_scripts: bool
) -> Callable[[list[dict[str, Any]] | None], ModelAdapter]:
    """The model of a request: its script's turns (SCRIPT_NOT_ALLOWED unless scripts are
    allowed), else the configured model."""

    def choose(script: list[dict[str, Any]] | None) -> ModelAdapter:
        if script is None:
            return make_model()
        if not allow_scripts:
            raise TetherError(
                ErrorCode.SCRIPT_NOT_ALLOWED,
                "scripted model turns are refused while a real model is configured",
            )
        return ScriptedModel(parse_script(script, "script"))

    return choose


def _check_model_settings() -> None:
    """Build the configured model once: CONFIG_INVALID, naming the variable, for a model spec
    or a model setting no run could use (a misspelt scheme, a timeout that is no number)."""
    try:
        model_from_env()
    except TetherError as exc:
        if exc.code is not ErrorCode.CONFIG_INVALID or "TETHER_MODEL" in exc.message:
            raise
        raise TetherError(ErrorCode.CONFIG_INVALID, f"TETHER_MODEL: {exc.message}") from None


def create_app(
    desk: Desk | Domain,
    model_factory: Callable[[], ModelAdapter] | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    allow_scripts: bool | None = None,
    end_users: EndUserVerifier | None = None,
    workers: int | None = None,
) -> FastAPI:
    """The API and dashboard over `desk` (or a desk built for a domain pack over the
    configured store); runs without a script use `model_factory()`.

    Every endpoint but `/healthz`, `/readyz` and the OpenAPI document needs an operator API
    key: viewers read runs, services and admins start them (see `tether.access.operators`).
    Scripted model turns are accepted when `allow_scripts` (default: unless TETHER_MODEL names
    a real model); end-user tokens are verified by `end_users` (default:
    TETHER_END_USER_KEYS, if set). `workers` threads execute runs in this process (default
    TETHER_WORKERS, else 8; 0 leaves them to `tether worker` processes)."""
    if isinstance(desk, Domain):
        desk = build_desk(desk)
    make_model = model_factory or model_from_env
    if model_factory is None and os.environ.get("TETHER_MODEL", "").strip():
        _check_model_settings()  # a replica whose every run would fail does not start
    choose_model = model_choice(
        make_model, scripts_allowed() if allow_scripts is None else allow_scripts
    )
    end_users = end_users or EndUserVerifier.from_env()
    configure_logging()  # TETHER_LOG_LEVEL / TETHER_LOG_FORMAT, when set
    quotas = RunQuotas.from_env()  # a bad value stops the app before anything starts
    look_s = every_seconds(os.environ, LOOK_ENV, DEFAULT_LOOK_S)  # a running rollout's looks
    reevaluate_s = every_seconds(os.environ, REEVALUATE_ENV, DEFAULT_REEVALUATE_S)
    drift_window = parse_duration(os.environ.get("TETHER_DRIFT_WINDOW", "") or "24h", "window")
    drift_baseline = parse_duration(os.environ.get("TETHER_DRIFT_BASELINE", "") or "7d", "baseline")
    keys = operator_keys(desk)
    feedback = FeedbackStore(desk.store.engine)
    tool_facts = registry_facts(desk.runtime.tools.specs())
    prices = PriceTable.from_env()
    # drift gauges, refreshed at scrape time
    drift = DriftWatch.from_env(desk.store.engine, registry=tool_facts)
    business = BusinessWatch.from_env(desk.store.engine, tool_facts)
    can_read = Depends(require(keys, Permission.RUNS_READ))
    app = FastAPI(
        title="tether",
        version=_version(),
        description="A governed runtime for production AI agents: start runs and audit them.",
        # the interactive docs pages load scripts from a CDN; the OpenAPI document stays
        docs_url=None,
        redoc_url=None,
    )
    install_problem_handlers(app)
    install_problem_openapi(app)
    app.add_exception_handler(OperatorAuthError, _on_auth_error)
    app.state.desk = desk
    app.state.operators = keys
    # escalated calls wait for a decision; a decided run continues with its script or the model
    approvals = desk.enable_approvals(models=make_model)
    # runs execute on workers: in this process (TETHER_WORKERS threads, default 8) and/or in
    # `tether worker` processes; the API only accepts them onto the queue
    queue = open_queue(store_url(desk.store), queue_depth(), pack=desk.domain.name)
    workers = worker_threads() if workers is None else workers
    if workers == 0 and queue.kind == "inline":
        raise TetherError(
            ErrorCode.CONFIG_INVALID,
            "TETHER_WORKERS=0 leaves runs to worker processes, which need the PostgreSQL "
            "queue; with the in-process queue this process must run workers",
        )
    signals = RunSignals()  # wakes this process's waiters as its runs' steps commit
    desk.runtime.observers = (*desk.runtime.observers, signals)
    # with workers in other processes, they say when a run settles, and this process listens
    unsubscribe = None
    if queue.kind == "postgres":
        desk.runtime.observers = (*desk.runtime.observers, SettleNotifier(desk.store.engine))
        unsubscribe = subscribe(libpq_conninfo(store_url(desk.store)), signals.settled_elsewhere)
    # every run executes under the release it recorded, a conversation's turns under the
    # release the conversation is pinned to (a running rollout's arm, else the one in force)
    pins = ReleaseDesks(desk)
    approvals.runtime_of = pins.runtime
    # and recovers what a dead process left (this one before a restart, or another replica)
    recovery = Recovery(desk.runtime, make_model, queue, runtime_of=pins.runtime)

    # started here, not at startup, so an app serves however it is run
    approvals.start()  # webhook notices and expiries, off the request path
    if workers > 0:
        queue.start(RunExecutor(desk.runtime, make_model, runtime_of=pins.runtime), workers)
    recovery.start()
    # off the request path: a running rollout looks at the traffic its arms served, and the
    # release in force is evaluated again when drift fires or its knowledge or policies change
    feed = RolloutFeed(pins.rollouts, desk.store.engine, prices)

    def reevaluate() -> None:
        report = detect_drift(
            desk.store.engine, drift_window, drift_baseline, prices=prices, registry=tool_facts
        )
        reevaluate_in_force(desk, report.fired, time.time() - drift_window)

    jobs = [*([Every(look_s, feed)] if look_s else []),
            *([Every(reevaluate_s, reevaluate)] if reevaluate_s else [])]  # fmt: skip
    looks = Background("tether-releases", jobs, LOOK_POLL_S)
    if jobs:
        looks.start()

    stopped = threading.Lock()

    def stop_work() -> None:
        """Stop all the app started off the request path; once, however often it is called
        (a shutdown event, and a host that stops the app itself)."""
        if not stopped.acquire(blocking=False):
            return
        looks.stop()
        if unsubscribe is not None:
            unsubscribe()
        recovery.stop()
        queue.stop()
        approvals.stop()
        pins.close()

    app.router.add_event_handler("shutdown", stop_work)
    app.state.stop_work = stop_work
    app.state.queue, app.state.recovery = queue, recovery
    approvals.enqueue = queue.enqueue  # a decided run continues on a worker, not in the request
    app.state.approvals = ApprovalsInbox(approvals)
    # inside the body limit: a retry with a kept Idempotency-Key gets the first response
    app.add_middleware(
        IdempotencyMiddleware, keys=keys, store=RequestKeys(desk.store.engine), end_users=end_users
    )
    app.add_middleware(BodyLimitMiddleware, max_bytes=max_body_bytes)
    app.add_middleware(UrlLimitMiddleware)  # before the body or anything else is read
    app.add_middleware(ServerTimingMiddleware)  # the dashboard's refusals and redirects too
    app.add_middleware(SecurityHeadersMiddleware)  # outermost: the 413s get the headers too

    admission = Admission(desk.store, queue, quotas)  # room on the queue, and the quotas
    app.include_router(
        runs_router(
            desk,
            admission,
            signals,
            choose_model,
            require(keys, Permission.RUNS_READ),
            require(keys, Permission.RUNS_CREATE),
            feedback,
            end_users,
        )
    )

    @app.get(
        "/v1/runs",
        response_model=RunPage,
        tags=["runs"],
        summary="List runs, newest first",
        responses=problem_responses(
            ErrorCode.BAD_REQUEST, ErrorCode.STORE_UNAVAILABLE, *AUTH_CODES
        ),
        dependencies=[can_read],
    )
    def list_runs(
        decision: DecisionKind | None = Query(None, description="how the run ended"),
        agent: StoredText | None = Query(None),
        principal: StoredText | None = Query(None),
        status: RunStatus | None = Query(None),
        since: float | None = Query(
            None, allow_inf_nan=False, description="created at or after (epoch seconds)"
        ),
        until: float | None = Query(
            None, allow_inf_nan=False, description="created before (epoch seconds)"
        ),
        release: str | None = Query(
            None, pattern=RELEASE_ID, description="executed under this release id"
        ),
        limit: int = Query(50, ge=1, le=200),
        offset: int = Query(0, ge=0, le=MAX_OFFSET),
    ) -> dict[str, Any]:
        if since is not None and until is not None and since > until:
            raise TetherError(ErrorCode.BAD_REQUEST, "since must not be later than until")
        filt = RunFilter(decision, agent, principal, status, since, until, release=release)
        runs = desk.store.list_runs(filt, limit=limit, offset=offset)
        return {
            "runs": [r.to_dict() for r in runs],
            "total": desk.store.count_runs(filt),
            "limit": limit,
            "offset": offset,
        }

    @app.get(
        "/v1/runs/{run_id}",
        response_model=RunDetail,
        tags=["runs"],
        summary="One run with every step",
        description=(
            "With `wait=SECONDS` (0-60) the answer waits until the run has ended or waits "
            "for a person, or until the wait runs out, and is the run as it is then: poll the "
            "`Location` a `202` gave without busy-looping."
        ),
        responses=problem_responses(
            ErrorCode.RUN_NOT_FOUND, ErrorCode.STORE_UNAVAILABLE, *AUTH_CODES
        ),
        dependencies=[can_read],
    )
    async def get_run(
        run_id: StoredText,
        wait: float = Query(
            0.0, ge=0, le=MAX_WAIT_S, description="seconds to wait for the run to settle (0-60)"
        ),
    ) -> dict[str, Any]:
        if wait > 0:  # (an unknown run is RUN_NOT_FOUND at the first read, before any wait)
            await settled(desk.store, signals, run_id, wait)
        return await run_in_threadpool(run_with_feedback, run_id)

    def run_with_feedback(run_id: str) -> dict[str, Any]:
        run = desk.store.get_run(run_id).to_dict(with_steps=True)
        run["feedback"] = [f.to_dict() for f in feedback.for_run(run_id)]
        return run

    @app.get(
        "/metrics",
        tags=["service"],
        summary="Prometheus metrics",
        response_class=Response,
        responses=problem_responses(ErrorCode.STORE_UNAVAILABLE, *AUTH_CODES),
        dependencies=[can_read],
    )
    def metrics() -> Response:
        registry = desk.observability.metrics
        registry.suspended_runs.set(desk.store.count_runs(RunFilter(status=RunStatus.SUSPENDED)))
        if drift is not None:
            drift.refresh(registry)
        if business is not None:
            business.refresh(registry)
        return Response(registry.exposition(), media_type=METRICS_CONTENT_TYPE)

    @app.get(
        "/healthz",
        response_model=Health,
        tags=["service"],
        summary="Liveness and database reachability",
        responses=problem_responses(ErrorCode.STORE_UNAVAILABLE),
    )
    def healthz() -> dict[str, str]:
        try:
            with desk.store.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            raise TetherError(
                ErrorCode.STORE_UNAVAILABLE, f"database unavailable: {type(exc).__name__}"
            ) from None
        return {"status": "ok", "database": "ok"}

    app.include_router(readiness_router(desk.store.engine, queue))
    app.include_router(
        approvals_router(
            approvals,
            require(keys, Permission.RUNS_READ),
            require(keys, None),  # the decide routes check the role, and audit a refusal
            lambda run_id, wait: settled(desk.store, signals, run_id, wait),
        )
    )
    conversations = ConversationStore(desk.store.engine)
    app.include_router(
        conversations_router(
            lambda: Conversations(desk.runtime, conversations, pins=pins),
            require(keys, Permission.RUNS_READ),
            require(keys, Permission.RUNS_CREATE),
            end_users,
            choose_model,
            admission,  # turns are runs: on the same queue, executed by the same workers
            signals,
        )
    )
    app.include_router(dashboard_router(desk, keys))
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
