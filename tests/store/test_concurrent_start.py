"""Replicas started together on a fresh database all come up.

A deployment starts API replicas and workers at once, and each brings the schema to the newest
revision when it opens the store: one makes it, the others wait and find it made. On PostgreSQL
they take turns by advisory locks, on a shared SQLite file by its set-up lock file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.together import failures, run_together
from tether.domains.retail.db import RetailDB
from tether.domains.retail.desk import open_retail_desk
from tether.store.runs import RunStore

PROCESSES = 4


@pytest.mark.postgres
def test_processes_opening_a_fresh_database_at_once_all_succeed(pg_url: str) -> None:
    results = run_together(
        "from tether.store.runs import RunStore",
        "RunStore.open(sys.argv[1]).close()",
        [pg_url],
        PROCESSES,
    )

    assert failures(results) == []
    store = RunStore.open(pg_url)  # and the schema they left is whole
    try:
        assert store.count_runs() == 0
    finally:
        store.close()


SQLITE_ROUNDS = 3  # fresh files, one after another: the race is narrow, so meet it several times


def sqlite_urls(tmp_path: Path) -> list[str]:
    return [f"sqlite:///{tmp_path / f'round{i}' / 'tether.db'}" for i in range(SQLITE_ROUNDS)]


def test_processes_opening_a_fresh_sqlite_file_at_once_all_succeed(tmp_path: Path) -> None:
    """Replicas sharing one SQLite file (several `tether serve` on one machine) start together
    and each migrates the store: they take turns by the file's set-up lock."""
    urls = sqlite_urls(tmp_path)
    results = run_together(
        "from tether.store.runs import RunStore",
        "for url in sys.argv[1:]:\n    RunStore.open(url).close()",
        urls,
        PROCESSES,
    )

    assert failures(results) == []
    for url in urls:
        store = RunStore.open(url)
        try:
            assert store.count_runs() == 0
        finally:
            store.close()


def test_processes_opening_the_desk_on_one_sqlite_file_at_once_all_succeed(
    tmp_path: Path,
) -> None:
    """With the store migrated, replicas make the pack's tables and data and the access tables
    together, and each tries to make the first admin key: every one comes up, one key is made."""
    urls = sqlite_urls(tmp_path)
    for url in urls:
        RunStore.open(url).close()
    results = run_together(
        "from tether.domains.retail.desk import open_retail_desk\n"
        "from tether.store.runs import RunStore\n"
        "stores = [RunStore.open(url) for url in sys.argv[1:]]",
        "for store in stores:\n"
        "    open_retail_desk(store).access.operators.bootstrap_admin()\n"
        "    store.close()",
        urls,
        PROCESSES,
    )

    assert failures(results) == []
    for url in urls:
        store = RunStore.open(url)
        try:
            desk = open_retail_desk(store)
            assert desk.access is not None
            assert len(desk.access.operators.list_keys()) == 1  # one first admin, not four
            assert desk.access.verify_audit().ok
            assert RetailDB(store.engine).user("raj_sanchez_2970") is not None
        finally:
            store.close()
