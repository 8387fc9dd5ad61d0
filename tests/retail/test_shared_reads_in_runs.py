"""The checks of one proposal share what they read of the retail records: the run decides the
same, records the same steps, and asks the database once per record."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import pytest

from tests.retail.driver_sql import driver_statements
from tether.core.reads import reading
from tether.core.types import Message, Run, StepKind
from tether.domains.retail import build_tools
from tether.domains.retail.db import RetailDB
from tether.domains.retail.desk import open_retail_desk
from tether.models.base import ModelRequest, ModelTurn
from tether.models.scripted import ScriptedModel, parse_script
from tether.runtime import RunRequest, Runtime
from tether.runtime.replay import Replayer
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
    # the checks' reads are shared by the runtime's read book either way, and retrieval's graph
    # expansion reads each record once by itself (tests/grounding/test_retrieval_reuse.py holds
    # that exactly): the pack's block may save a read, never cost one; both find indexes built
    assert shared_reads <= unshared_reads


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


ORDER = "#W4566809"
CANCEL = parse_script(
    [
        {"tool": "find_user_id_by_email", "args": {"email": "raj.sanchez2046@example.com"}},
        {"tool": "get_order_details", "args": {"order_id": ORDER}},
        {"tool": "cancel_pending_order", "args": {"order_id": ORDER, "reason": "no longer needed"}},
    ]
)


class ChangedBetweenSteps:
    """The scripted model, except that before turn `turn` another writer (on a thread of its
    own, as another run's tool would) cancels the order."""

    def __init__(self, db: RetailDB, turn: int) -> None:
        self.script = ScriptedModel(CANCEL)
        self.db, self.turn = db, turn

    @property
    def name(self) -> str:
        return self.script.name

    def propose(self, request: ModelRequest) -> ModelTurn:
        if request.turn == self.turn:
            cancel = {t.name: t for t in build_tools(self.db)}["cancel_pending_order"]
            writer = threading.Thread(
                target=lambda: cancel(order_id=ORDER, reason="ordered by mistake")
            )
            writer.start()
            writer.join()
        return self.script.propose(request)


def _order_read_by(run: Run, tool: str) -> dict[str, Any]:
    (guard,) = [s for s in run.steps if s.kind is StepKind.GUARD and s.name == tool]
    return dict(guard.data["reads"][f"retail_orders:{ORDER}"])


@pytest.mark.parametrize("changed", [False, True], ids=["alone", "changed-between-steps"])
def test_a_write_is_checked_against_the_order_as_it_is_when_proposed(
    tmp_path: Path, changed: bool
) -> None:
    db = RetailDB.fresh_copy()
    desk = open_retail_desk(RunStore.open(f"sqlite:///{tmp_path / 'runs.db'}"), db=db)
    model = ChangedBetweenSteps(db, turn=2 if changed else -1)
    request = RunRequest(USER, [Message("user", f"Please cancel {ORDER}, I'm Raj.")])
    try:
        run = desk.runtime.run(request, model)
        # the replay reads the recorded values, here too, and decides the same
        report = Replayer(desk.runtime).replay(desk.store.get_run(run.id))
    finally:
        desk.store.close()
    assert report.identical, [d.to_dict() for d in report.diffs]
    assert _order_read_by(run, "get_order_details")["status"] == "pending"
    seen = _order_read_by(run, "cancel_pending_order")
    assert run.decision is not None
    if not changed:  # the control: a pending order's cancellation waits for the customer's yes
        assert seen["status"] == "pending"
        assert run.decision.kind.value == "confirmation"
        return
    # the check read the order again and saw the other writer's cancellation, not the
    # "pending" this run read one step earlier: the policy denied the call, which never ran
    assert seen["status"] == "cancelled"
    (guard,) = [
        s for s in run.steps if s.kind is StepKind.GUARD and s.name == "cancel_pending_order"
    ]
    assert guard.data["effect"] == "deny"
    policy = next(v for v in guard.data["verdicts"] if v["check"] == "policy")
    assert "cancel-pending-only" in policy["facts"]["policies"]
    ran = [s.name for s in run.steps if s.kind is StepKind.TOOL]
    assert "get_order_details" in ran and "cancel_pending_order" not in ran
    order = db.order(ORDER)
    assert order is not None and order["cancel_reason"] == "ordered by mistake"
    assert [p["transaction_type"] for p in order["payment_history"]] == ["payment", "refund"]
