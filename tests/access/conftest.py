"""Access-layer fixtures: a migrated store, access control over it, Redis when reachable."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.conftest import IN_CI
from tether.access.control import AccessControl
from tether.access.rights import RoleRights
from tether.access.settings import AccessSettings
from tether.core.clock import ManualClock
from tether.store.runs import RunStore

REDIS_URL = os.environ.get("TETHER_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
ROLES = RoleRights({"customer": ("retail:read", "retail:write"), "reader": ("retail:read",)})


def require_redis() -> None:
    """Skip (outside CI) or fail (in CI) when Redis is not reachable."""
    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
        client.ping()
        client.close()
    except redis.RedisError as exc:
        message = f"Redis at {REDIS_URL} is not reachable: {exc}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def redis_url() -> str:
    require_redis()
    return REDIS_URL


@pytest.fixture
def store(store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunStore]:
    """A migrated store on SQLite and on PostgreSQL (its audit key, trust file and checkpoint
    sink in the test's own folder on both)."""
    monkeypatch.setenv("TETHER_HOME", str(tmp_path))
    s = RunStore.open(store_url)
    yield s
    s.close()


@pytest.fixture
def sqlite_store(sqlite_url: str) -> Iterator[RunStore]:
    s = RunStore.open(sqlite_url)
    yield s
    s.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start=1_800_000_000.0)


def open_access(
    store: RunStore, clock: ManualClock | None = None, **settings: object
) -> AccessControl:
    """Access control over `store` with no revocation cache unless asked (so a revocation by
    another instance is seen at once)."""
    chosen = AccessSettings(**{"revocation_cache_s": 0.0, **settings})  # type: ignore[arg-type]
    return AccessControl.open(store.engine, ROLES, chosen, clock)


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"
