"""Shared fixtures: a store on SQLite and, when reachable, on PostgreSQL (a fresh schema each)."""

from __future__ import annotations

import os
import uuid
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, create_engine, event, text

from tether.store import RunStore

PG_URL = os.environ.get("TETHER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# every engine a test connects with, so that a PostgreSQL schema's pools are closed with it: an
# engine a test leaves to the garbage collector (or that a cache keeps alive) would otherwise
# hold its idle connections for the rest of the worker's life, and the shared server has 100
_ENGINES: weakref.WeakSet[Engine] = weakref.WeakSet()


@event.listens_for(Engine, "engine_connect")
def _seen(conn: Connection) -> None:
    _ENGINES.add(conn.engine)


def _pg_reachable() -> str | None:
    try:
        engine = create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any failure to connect means "absent" here
        return str(exc).splitlines()[0]


def require_postgres() -> None:
    """Skip (outside CI) or fail (in CI) when PostgreSQL is not reachable."""
    problem = _pg_reachable()
    if problem is None:
        return
    message = f"PostgreSQL at {PG_URL} is not reachable: {problem}"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def pg_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A URL whose search_path is a brand-new schema, dropped afterwards. Its audit key, trust
    file and checkpoint sink (kept outside the database) go under the test's own folder."""
    require_postgres()
    if "TETHER_HOME" not in os.environ:
        monkeypatch.setenv("TETHER_HOME", str(tmp_path / "home"))
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        for engine in list(_ENGINES):  # idle connections only; one in use closes on return
            if schema in engine.url.render_as_string(hide_password=False):
                engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'tether.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test on both backends."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tether.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def either_store(store_url: str) -> Iterator[RunStore]:
    """A store, on SQLite and then on PostgreSQL."""
    opened = RunStore.open(store_url)
    yield opened
    opened.close()
