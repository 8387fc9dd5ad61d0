"""`/readyz`: ready while the store, the configured Redis and the run queue answer; 503 with the
same document, naming what is down, when one does not. `/healthz` stays liveness only."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import create_engine

from tests.access.conftest import REDIS_URL, require_redis
from tether.domains.retail.db import RetailDB
from tether.domains.retail.desk import open_retail_desk
from tether.sdk import Desk
from tether.server.app import create_app
from tether.store.runs import RunStore

Serve = Callable[[FastAPI], httpx.Client]


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_ready_on_sqlite_without_redis_and_without_a_key(
    desk: Desk, serve_app: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TETHER_REDIS_URL", raising=False)
    client = serve_app(create_app(desk))
    client.headers.pop("Authorization")
    response = client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "ok": True,
        "checks": {
            "store": {"ok": True},
            "redis": {"ok": True, "configured": False},
            "queue": {"ok": True, "kind": "inline", "depth": 0},
        },
    }


def test_not_ready_while_the_store_is_unreachable(tmp_path: Path, serve_app: Serve) -> None:
    missing = tmp_path / "no-such-directory" / "t.db"
    engine = create_engine(f"sqlite:///{missing}")
    store_less = open_retail_desk(RunStore(engine), db=RetailDB.fresh_copy())
    client = serve_app(create_app(store_less))
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["ok"] is False
    assert body["checks"]["store"] == {
        "ok": False,
        "code": "STORE_UNAVAILABLE",
        "error": "OperationalError",
    }
    assert body["checks"]["queue"]["ok"] is True
    engine.dispose()


def test_not_ready_while_the_configured_redis_is_down(
    desk: Desk, serve_app: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TETHER_REDIS_URL", f"redis://127.0.0.1:{_closed_port()}/0")
    client = serve_app(create_app(desk))
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["ok"] is False
    assert body["checks"]["redis"]["ok"] is False
    assert body["checks"]["redis"]["configured"] is True
    assert body["checks"]["store"] == {"ok": True}
    # liveness is not readiness: the process still serves
    assert client.get("/healthz").status_code == 200


@pytest.mark.redis
def test_ready_with_a_reachable_redis(
    desk: Desk, serve_app: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_redis()  # skips outside CI, fails in CI, when Redis is absent
    monkeypatch.setenv("TETHER_REDIS_URL", REDIS_URL)
    response = serve_app(create_app(desk)).get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["checks"]["redis"] == {"ok": True, "configured": True}


def test_readyz_is_documented_without_a_key(desk: Desk, serve_app: Serve) -> None:
    doc = serve_app(create_app(desk)).get("/openapi.json").json()
    readyz = doc["paths"]["/readyz"]["get"]
    assert "security" not in readyz
    assert {"200", "503"} <= set(readyz["responses"])
