"""Processes opening the retail desk together on a fresh PostgreSQL database all come up.

Replicas of a deployment start at once and each creates the retail tables if they are missing;
one makes them, the others wait and find them made.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, inspect, text

from tests.conftest import PG_URL, require_postgres
from tests.together import failures, run_together

PROCESSES = 6
ROUNDS = 6  # fresh schemas, one after another: the race is narrow, so meet it several times


@pytest.fixture
def schema_urls() -> Iterator[list[str]]:
    require_postgres()
    names = [f"t_{uuid.uuid4().hex[:12]}" for _ in range(ROUNDS)]
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        for name in names:
            conn.execute(text(f'CREATE SCHEMA "{name}"'))
    try:
        yield [f"{PG_URL}?options=-csearch_path%3D{name}" for name in names]
    finally:
        with admin.begin() as conn:
            for name in names:
                conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()


@pytest.mark.postgres
def test_processes_creating_the_retail_tables_at_once_all_succeed(
    schema_urls: list[str],
) -> None:
    results = run_together(
        "from sqlalchemy import create_engine\nfrom tether.domains.retail.db import RetailDB",
        # each engine is let go once its tables are made: six processes holding six pools each
        # would crowd the server that the rest of the suite shares
        "for url in sys.argv[1:]:\n    engine = create_engine(url)\n"
        "    RetailDB(engine).create_tables()\n    engine.dispose()",
        schema_urls,
        PROCESSES,
    )

    assert failures(results) == []
    for url in schema_urls:
        engine = create_engine(url)
        try:
            assert {"retail_orders", "retail_users"} <= set(inspect(engine).get_table_names())
        finally:
            engine.dispose()
