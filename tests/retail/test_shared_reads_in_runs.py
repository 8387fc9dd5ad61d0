"""The checks of one proposal share what they read of the retail records: the run decides the
same, records the same steps, and asks the database once per record."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

from tests.retail.driver_sql import driver_statements
from tether.core.reads import reading
from tether.core.types import Message, Run
from tether.domains.retail.db import RetailDB
from tether.domains.retail.desk import open_retail_desk
from tether.models.scripted import ScriptedModel, parse_script
from tether.runtime import RunRequest, Runtime
from tether.store.runs import RunStore

USER = "raj_sanchez_2970"
SCRIPT = parse_script(
    [
        {"tool": "find_user_id_by_email", "args": {"email": "raj.sanchez2046@example.com"}},
        {"tool": "get_user_details", "args": {"user_id": USER}},
        {"tool": "get_order_details", "args": {"order_id": "#W4566809"}},
        {"answer": "Order #W4566809 is pending [tool:3]."},
    ]
)


@contextmanager
def counting(db: RetailDB) -> Iterator[list[str]]:
    """The reads of retail records the block makes, as the driver runs them."""
    with driver_statements(db.engine) as seen:
        yield seen


def reads_in(seen: list[str]) -> int:
    return sum(1 for s in seen if s.lstrip().upper().startswith("SELECT RETAIL_"))


def run_counting(runtime: Runtime, db: RetailDB) -> tuple[Run, int]:
    with counting(db) as reads:
        request = RunRequest(USER, [Message("user", "Status of #W4566809? I'm Raj.")])
        run = runtime.run(request, ScriptedModel(SCRIPT))
    return run, reads_in(reads)


def test_shared_reads_change_nothing_but_the_number_of_queries(tmp_path: Path) -> None:
    db = RetailDB.fresh_copy()
    desk = open_retail_desk(RunStore.open(f"sqlite:///{tmp_path / 'runs.db'}"), db=db)
    try:
        assert desk.runtime.shared_reads == db.shared_reads  # the pack wired it
        run_counting(desk.runtime, db)  # the first run also builds the pack's own indexes
        shared, shared_reads = run_counting(desk.runtime, db)
        alone = dataclasses.replace(desk.runtime, shared_reads=nullcontext)
        unshared, unshared_reads = run_counting(alone, db)
    finally:
        desk.store.close()
    assert shared.decision is not None and unshared.decision is not None
    assert shared.decision.to_dict() == unshared.decision.to_dict()
    assert shared.decision.kind.value == "answer"
    assert [(s.kind, s.name) for s in shared.steps] == [(s.kind, s.name) for s in unshared.steps]
    # the checks' reads are shared by the runtime's read book either way (the pack's own block
    # serves retrieval's graph expansion, which reads fewer with it); both find the indexes built
    assert shared_reads < unshared_reads


def test_within_one_block_a_record_is_fetched_once_and_each_reader_gets_a_copy() -> None:
    db = RetailDB.fresh_copy()
    try:
        with counting(db) as queries, reading() as book:
            first = db.order("#W4566809")
            assert first is not None
            first["status"] = "changed by its reader"
            second = db.order("#W4566809")
            assert reads_in(queries) == 1
        assert second is not None and second["status"] == "pending"
        assert book.values["retail_orders:#W4566809"]["status"] == "pending"
        with counting(db) as outside:
            db.order("#W4566809")
            db.order("#W4566809")
        assert reads_in(outside) == 2  # outside a block every read asks the database
    finally:
        db.close()
