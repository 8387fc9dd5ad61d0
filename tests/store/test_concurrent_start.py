"""Replicas started together on a fresh PostgreSQL database all come up.

A deployment starts API replicas and workers at once, and each brings the schema to the newest
revision when it opens the store: one makes it, the others wait and find it made.
"""

from __future__ import annotations

import pytest

from tests.together import failures, run_together
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
