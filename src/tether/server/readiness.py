"""Readiness: whether this replica's dependencies answer, so a load balancer routes to it.

`/healthz` says the process is alive; `/readyz` checks each dependency a run needs (the run
store, Redis when one is configured, the queue runs execute on) and answers 503 with the same
document when any of them is down. Neither needs a key: they carry no data.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from tether.core.errors import ErrorCode
from tether.core.redis_client import redis_client
from tether.workers.queue import RunQueue

REDIS_TIMEOUT_S = 0.5  # a readiness probe must answer well within a balancer's own timeout

Check = Callable[[], dict[str, Any]]


class CheckOut(BaseModel):
    """One dependency: `ok`, and when not, the kind of `error` (and, for the store, the stable
    `code` its endpoints answer with meanwhile)."""

    model_config = ConfigDict(extra="allow")
    ok: bool


class Readiness(BaseModel):
    ok: bool = Field(description="every check is ok")
    checks: dict[str, CheckOut] = Field(description="store, redis and queue")


def store_check(engine: Engine) -> Check:
    """A `SELECT 1` on the run store."""

    def check() -> dict[str, Any]:
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            code = ErrorCode.STORE_UNAVAILABLE.value
            return {"ok": False, "code": code, "error": type(exc).__name__}
        return {"ok": True}

    return check


def redis_check(url: str | None) -> Check:
    """A `PING` to the configured Redis; ok and `configured: false` when there is none."""
    if not url:
        return lambda: {"ok": True, "configured": False}
    client, unavailable = redis_client(url, REDIS_TIMEOUT_S)

    def check() -> dict[str, Any]:
        try:
            client.ping()
        except unavailable as exc:
            return {"ok": False, "configured": True, "error": type(exc).__name__}
        return {"ok": True, "configured": True}

    return check


def queue_check(queue: RunQueue | None) -> Check:
    """The run queue takes and hands out runs (its kind, and the runs waiting in it)."""
    if queue is None:
        return lambda: {"ok": True, "kind": "none"}

    def check() -> dict[str, Any]:
        problem = queue.check()
        if problem is not None:
            return {"ok": False, "kind": queue.kind, "error": problem}
        return {"ok": True, "kind": queue.kind, "depth": queue.depth()}

    return check


def readiness_router(
    engine: Engine, queue: RunQueue | None = None, environ: Mapping[str, str] | None = None
) -> APIRouter:
    """`GET /readyz` over the run store's engine, the Redis of `TETHER_REDIS_URL` and the
    run queue."""
    env = os.environ if environ is None else environ
    checks: dict[str, Check] = {
        "store": store_check(engine),
        "redis": redis_check(env.get("TETHER_REDIS_URL", "").strip() or None),
        "queue": queue_check(queue),
    }
    router = APIRouter(tags=["service"])

    @router.get(
        "/readyz",
        response_model=Readiness,
        summary="Readiness: the store, Redis (when configured) and the run queue answer",
        responses={503: {"model": Readiness, "description": "a dependency is down"}},
    )
    def readyz() -> JSONResponse:
        # a plain def: FastAPI runs it in its threadpool, off the event loop, as it does I/O
        results = {name: check() for name, check in checks.items()}
        ready = all(result["ok"] for result in results.values())
        return JSONResponse({"ok": ready, "checks": results}, status_code=200 if ready else 503)

    return router
