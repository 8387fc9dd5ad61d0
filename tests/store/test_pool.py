"""How many database connections a process keeps: enough for its request threads and the
runs its workers execute, so a busy server does not open and close connections per query."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import event
from sqlalchemy.pool import QueuePool, SingletonThreadPool

from tether.core.errors import ErrorCode, TetherError
from tether.store.db import create_store_engine, pool_size


def test_a_file_database_keeps_twenty_connections_by_default(tmp_path: Path) -> None:
    engine = create_store_engine(f"sqlite:///{tmp_path / 'runs.db'}")
    try:
        assert isinstance(engine.pool, QueuePool)
        assert engine.pool.size() == 20
    finally:
        engine.dispose()


def test_sixteen_threads_reading_at_once_reuse_their_connections(tmp_path: Path) -> None:
    """Two rounds of 16 concurrent readers open 16 connections, not 32: the second round
    finds the first round's connections kept (with a pool of 5, 11 were closed and reopened)."""
    engine = create_store_engine(f"sqlite:///{tmp_path / 'runs.db'}")
    opened: list[int] = []
    event.listen(engine, "connect", lambda conn, record: opened.append(1))
    barrier = threading.Barrier(16)

    def read() -> None:
        with engine.connect() as conn:
            barrier.wait(timeout=10)  # all 16 hold a connection at the same time
            conn.exec_driver_sql("SELECT 1")

    try:
        for _ in range(2):
            threads = [threading.Thread(target=read) for _ in range(16)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=20)
        assert len(opened) == 16
    finally:
        engine.dispose()


def test_an_in_memory_database_keeps_its_own_pool() -> None:
    engine = create_store_engine("sqlite://")
    try:
        assert isinstance(engine.pool, SingletonThreadPool)
    finally:
        engine.dispose()


def test_the_setting_is_read_and_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert pool_size("sqlite", {}) == 20 and pool_size("postgresql", {}) == 5
    assert pool_size("postgresql", {"TETHER_DB_POOL_SIZE": "12"}) == 12
    for bad in ("0", "501", "-1", "ten", "2.5"):
        with pytest.raises(TetherError) as caught:
            pool_size("sqlite", {"TETHER_DB_POOL_SIZE": bad})
        assert caught.value.code is ErrorCode.CONFIG_INVALID
        assert "TETHER_DB_POOL_SIZE" in caught.value.message
    monkeypatch.setenv("TETHER_DB_POOL_SIZE", "7")
    engine = create_store_engine(f"sqlite:///{tmp_path / 'runs.db'}")
    try:
        assert engine.pool.size() == 7  # type: ignore[attr-defined]
    finally:
        engine.dispose()
