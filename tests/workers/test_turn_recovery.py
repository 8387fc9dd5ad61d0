"""A turn whose run ended but that nobody folded into its conversation (its process died in
between) is folded in by a recovery sweep, once, whoever else tries at the same time; a turn
whose run is still queued or held by a live process is left alone. In one process on both
stores (real processes killed at that very commit: test_kill_workers.py, "decision")."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import inspect

from tests.approvals.conftest import SCRIPT as RETURN_SCRIPT
from tests.approvals.conftest import TALK as RETURN_TALK
from tests.approvals.conftest import open_desk as open_approvals_desk
from tests.server.conversation_site import CANCEL_SCRIPT, CANCEL_TEXT, USER
from tests.store.statements import statements
from tests.talk import first_write
from tether.conversations import Conversations, ConversationStore
from tether.conversations.turns import fold_turn
from tether.core.types import Run, RunStatus
from tether.models.scripted import ScriptedModel, parse_script
from tether.runtime.seams import Reply
from tether.sdk import Desk
from tether.store.db import _alembic_config, migrate
from tether.store.runs import RunStore
from tether.workers.recovery import Recovery


def _service(desk: Desk) -> Conversations:
    return Conversations(desk.runtime, ConversationStore(desk.store.engine))


def _queued_turn(service: Conversations) -> tuple[str, str]:
    """A new conversation held by a turn whose run waits on the queue: (conversation, run)."""
    cid = service.start(USER).id
    claim = service.begin_turn(cid, USER, text=CANCEL_TEXT)
    return cid, service.submit_claimed(claim, {"script": CANCEL_SCRIPT}).id


def _unfolded_turn(desk: Desk, service: Conversations) -> tuple[str, Run]:
    """A turn whose run ended, its process gone before it folded the turn in."""
    cid, run_id = _queued_turn(service)
    desk.runtime.execute(run_id, ScriptedModel(parse_script(CANCEL_SCRIPT)))
    assert service.store.get(cid).busy_run == run_id  # the claim holds it under its run's id
    return cid, desk.store.get_run(run_id)


def test_reading_the_conversation_folds_in_a_turn_whose_run_ended(desk: Desk) -> None:
    """A client that saw the turn's run end and then reads the conversation finds the turn
    and the action it left waiting, even before its worker folded it in; a turn still queued
    is left alone."""
    service = _service(desk)
    cid, run = _unfolded_turn(desk, service)
    assert run.decision is not None and run.decision.kind.value == "confirmation"
    shown = service.detail(cid)
    assert [t["run"]["id"] for t in shown["turns"]] == [run.id]
    assert shown["pending_action"] is not None
    assert shown["pending_action"]["tool"] == "cancel_pending_order"
    assert service.store.get(cid).busy_run is None  # folded in, once
    assert not fold_turn(service.store, run, 0.0)
    queued, _ = _queued_turn(service)
    assert service.detail(queued)["turns"] == []
    assert service.store.get(queued).busy_run is not None  # still held by its queued run


def test_a_sweep_folds_a_turn_whose_run_ended_and_leaves_live_turns(desk: Desk) -> None:
    service = _service(desk)
    ended, run = _unfolded_turn(desk, service)
    queued, queued_run = _queued_turn(service)
    running, running_run = _queued_turn(service)
    assert desk.runtime.keeper.claim(running_run) is not None  # a live process holds it

    recovery = Recovery(desk.runtime, models=None)
    assert recovery.sweep() == []  # nothing was resumed
    record = service.store.get(ended)
    assert (record.turns, record.busy_run) == (1, None)
    assert record.pending is not None and record.pending.tool == "cancel_pending_order"
    assert [t.run_id for t in service.store.turns(ended)] == [run.id]
    assert record.state["messages"][0]["content"] == CANCEL_TEXT
    for cid, run_id in ((queued, queued_run), (running, running_run)):
        held = service.store.get(cid)
        assert (held.turns, held.busy_run) == (0, run_id)
    assert desk.store.get_run(queued_run).status is RunStatus.QUEUED

    recovery.sweep()  # a second sweep changes nothing, nor does a late fold
    assert fold_turn(service.store, run, time.time()) is False
    assert [t.run_id for t in service.store.turns(ended)] == [run.id]
    assert service.store.get(ended).turns == 1


def test_two_sweeps_and_a_late_wait_fold_a_turn_in_once(desk: Desk) -> None:
    service = _service(desk)
    cid, run = _unfolded_turn(desk, service)
    start = threading.Barrier(3)
    folded: list[int] = []

    def sweep() -> None:
        recovery = Recovery(desk.runtime, models=None)  # a conversation store of its own
        start.wait()
        folded.append(len(recovery.fold_ended_turns()))

    def wait_request() -> None:  # what `?wait` does when it sees the run ended
        store = ConversationStore(desk.store.engine)
        start.wait()
        folded.append(int(fold_turn(store, run, time.time())))

    threads = [threading.Thread(target=f) for f in (sweep, sweep, wait_request)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(folded) == [0, 0, 1]
    record = service.store.get(cid)
    assert (record.turns, record.busy_run) == (1, None)
    assert [t.run_id for t in service.store.turns(cid)] == [run.id]


class SweepAtRunEnd:
    """A run observer that sweeps as soon as the run's Decision is committed: a sweep of another
    process that finds the turn before its own process folds it in."""

    def __init__(self, recovery: Recovery) -> None:
        self.recovery = recovery
        self.folded: list[str] = []

    def on_steps(self, run: Run, steps: Any) -> None:
        pass

    def on_run_end(self, run: Run) -> None:
        self.folded.extend(self.recovery.fold_ended_turns())


def test_a_turn_a_sweep_folded_first_still_answers_in_its_own_process(desk: Desk) -> None:
    sweeper = SweepAtRunEnd(Recovery(desk.runtime, models=None))
    desk.runtime.observers = (*desk.runtime.observers, sweeper)
    service = _service(desk)
    conversation = service.start(USER)
    outcome = conversation.send(CANCEL_TEXT, ScriptedModel(parse_script(CANCEL_SCRIPT)))
    assert sweeper.folded == [outcome.run.id]  # the sweep recorded it
    assert outcome.pending_action is not None  # and the turn answers as if it had
    record = conversation.record()
    assert (record.turns, record.busy_run) == (1, None)
    assert record.pending is not None and record.pending.nonce == outcome.pending_action.nonce


def test_a_turn_waiting_for_a_person_is_folded_in_by_a_sweep(sqlite_url: str) -> None:
    store = RunStore.open(sqlite_url)
    desk = open_approvals_desk(store)
    try:
        service = _service(desk)
        split = first_write(desk, RETURN_SCRIPT)
        head, rest = RETURN_SCRIPT[: split + 1], RETURN_SCRIPT[split + 1 :]
        conversation = service.start(USER)
        asked = conversation.send(RETURN_TALK[0], ScriptedModel(parse_script(head)))
        assert asked.pending_action is not None
        claim = service.begin_turn(
            conversation.id, USER, reply=Reply.CONFIRM, nonce=asked.pending_action.nonce
        )
        run_id = service.submit_claimed(claim, {"script": rest}).id
        waiting = desk.runtime.execute(run_id, ScriptedModel(parse_script(rest)))
        assert waiting.status is RunStatus.SUSPENDED  # the large return waits for a person

        assert Recovery(desk.runtime, models=None).fold_ended_turns() == [run_id]
        record = conversation.record()
        assert (record.turns, record.busy_run, record.pending) == (2, None, None)
        assert record.state["waiting_run"] == run_id  # as its worker would have left it
    finally:
        store.close()


def test_the_sweep_finds_ended_turns_on_the_claims_index(desk: Desk) -> None:
    service = _service(desk)
    _unfolded_turn(desk, service)
    with statements(desk.store.engine) as seen:
        (found,) = service.store.ended_turns(20)
    ((statement, params),) = seen
    assert desk.store.get_run(found).decision is not None
    with desk.store.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params).all()
            detail = " ".join(str(row[-1]) for row in plan)
            assert "INDEX ix_conversations_busy" in detail, detail
            assert "SCAN runs" not in detail and "SCAN conversations " not in detail, detail
        else:  # an empty table would be scanned anyway; the index must be usable
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            plan = conn.exec_driver_sql("EXPLAIN " + statement, params).all()
            detail = " ".join(str(row[0]) for row in plan)
            assert "ix_conversations_busy" in detail, detail


def test_revision_0019_adds_the_index_and_comes_off_again(tmp_path: Path) -> None:
    store = RunStore.open(f"sqlite:///{tmp_path / 't.db'}")
    try:
        cfg = _alembic_config()
        with store.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0019-1")
        names = {i["name"] for i in inspect(store.engine).get_indexes("conversations")}
        assert "ix_conversations_busy" not in names
        migrate(store.engine)
        indexes = {i["name"]: i for i in inspect(store.engine).get_indexes("conversations")}
        assert indexes["ix_conversations_busy"]["column_names"] == ["busy_run"]
    finally:
        store.close()
