"""Runs settled in one process wake the waiters of another (PostgreSQL LISTEN/NOTIFY)."""

from __future__ import annotations

import queue
import time
import uuid
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from tether.core.types import StepKind
from tether.store.db import create_store_engine
from tether.workers.pg_queue import libpq_conninfo
from tether.workers.settling import SettleListener, SettleNotifier, listener_of, subscribe

HEARD_S = 10.0  # how long a notice may take to arrive before the test calls it lost


def step(kind: StepKind, name: str = "x") -> Any:
    return SimpleNamespace(kind=kind, name=name)


def run(run_id: str) -> Any:
    return SimpleNamespace(id=run_id)


@pytest.fixture
def heard(pg_url: str) -> Iterator[tuple[SettleListener, queue.Queue[str]]]:
    woken: queue.Queue[str] = queue.Queue()
    unsubscribe = subscribe(libpq_conninfo(pg_url), woken.put)
    listener = listener_of(libpq_conninfo(pg_url))
    assert listener is not None
    assert listener.listening.wait(HEARD_S), "the listener never started listening"
    yield listener, woken
    unsubscribe()


def heard_of(
    woken: queue.Queue[str], ours: set[str], wanted: int, within_s: float = HEARD_S
) -> list[str]:
    """The first `wanted` notices about `ours`, in order (other tests' runs, in other schemas of
    the same database, are heard too, and passed over as a waiter passes over them)."""
    got: list[str] = []
    deadline = time.monotonic() + within_s
    while len(got) < wanted and time.monotonic() < deadline:
        try:
            notice = woken.get(timeout=0.2)
        except queue.Empty:
            continue
        if notice in ours:
            got.append(notice)
    return got


def test_a_settled_run_is_heard_and_other_steps_are_not(
    pg_url: str, heard: tuple[SettleListener, queue.Queue[str]]
) -> None:
    _, woken = heard
    engine = create_store_engine(pg_url)  # another connection, as another process has
    notifier = SettleNotifier(engine)
    ids = {name: f"run_{name}_{uuid.uuid4().hex[:8]}" for name in ("tool", "asks", "waits", "ends")}
    notifier.on_steps(run(ids["tool"]), [step(StepKind.TOOL), step(StepKind.GUARD)])
    notifier.on_steps(run(ids["asks"]), [step(StepKind.APPROVAL, "decided")])
    notifier.on_steps(run(ids["waits"]), [step(StepKind.APPROVAL, "requested")])
    notifier.on_steps(run(ids["ends"]), [step(StepKind.TOOL), step(StepKind.DECISION)])
    notifier.on_steps(run(ids["tool"]), [step(StepKind.DECISION)])  # marks the end of the test
    got = heard_of(woken, set(ids.values()), 3)
    # a step that does not settle its run is never announced: the last notice follows it
    assert got == [ids["waits"], ids["ends"], ids["tool"]]
    engine.dispose()


def test_a_listener_whose_connection_drops_listens_again(
    pg_url: str, heard: tuple[SettleListener, queue.Queue[str]]
) -> None:
    listener, woken = heard
    conninfo = libpq_conninfo(pg_url)
    with psycopg.connect(conninfo, autocommit=True) as admin:
        row = admin.execute("SELECT pg_terminate_backend(%s)", (listener.backend_pid,)).fetchone()
    assert row is not None and row[0], "the listener's connection was not found"
    engine = create_store_engine(pg_url)
    notifier = SettleNotifier(engine)
    deadline = time.monotonic() + 30
    later = f"run_later_{uuid.uuid4().hex[:8]}"
    while True:  # notices sent while it reconnects are lost (waiters poll); later ones arrive
        notifier.on_steps(run(later), [step(StepKind.DECISION)])
        if heard_of(woken, {later}, 1, within_s=0.5):
            break
        assert time.monotonic() < deadline, "the listener never listened again"
    engine.dispose()


def test_a_notifier_without_its_database_does_not_fail_the_run(tmp_path: Any) -> None:
    engine = create_store_engine("postgresql+psycopg://postgres@127.0.0.1:1/none")
    SettleNotifier(engine).on_steps(run("run_1"), [step(StepKind.DECISION)])  # logs, no raise


def test_stores_of_one_database_share_one_listener_until_the_last_leaves(pg_url: str) -> None:
    """Every API process's stores on one database listen on one connection, whatever their
    schema: many apps in a process (or apps never shut down) hold one connection, not one each."""
    conninfo = libpq_conninfo(pg_url)
    other_schema = make_conninfo(conninfo, options="-csearch_path=elsewhere")
    before = listener_of(conninfo)  # apps of earlier tests in this process may listen still
    first: queue.Queue[str] = queue.Queue()
    second: queue.Queue[str] = queue.Queue()
    leave_first = subscribe(conninfo, first.put)
    leave_second = subscribe(other_schema, second.put)
    listener = listener_of(conninfo)
    assert listener is not None and listener is listener_of(other_schema)
    assert listener.listening.wait(HEARD_S)
    engine = create_store_engine(pg_url)
    ended = f"run_shared_{uuid.uuid4().hex[:8]}"
    SettleNotifier(engine).on_steps(run(ended), [step(StepKind.DECISION)])
    assert heard_of(first, {ended}, 1) == [ended] and heard_of(second, {ended}, 1) == [ended]
    leave_first()
    assert listener_of(conninfo) is listener  # one subscriber left
    leave_second()
    if before is None:  # the last subscriber left: the listener stops
        assert listener_of(conninfo) is None and not listener.listening.is_set()
    else:
        assert listener_of(conninfo) is before
        gone = f"run_gone_{uuid.uuid4().hex[:8]}"
        SettleNotifier(engine).on_steps(run(gone), [step(StepKind.DECISION)])
        assert heard_of(first, {gone}, 1, within_s=1.0) == [] and second.empty()
    engine.dispose()


def test_a_stopping_listener_ends_without_waiting_for_its_next_look(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`stop` wakes the listener on a channel of its own: a server stopping does not wait out
    the listener's pause between looks, however long it is. Another listener on the same
    database hears nothing of it (the nudge is not a settled run)."""
    monkeypatch.setattr("tether.workers.settling._WAKE_S", 60.0)
    conninfo = libpq_conninfo(pg_url)
    bystander_heard: queue.Queue[str] = queue.Queue()
    bystander = SettleListener(conninfo)
    bystander.add(bystander_heard.put)
    bystander.start()
    stopping = SettleListener(conninfo)
    stopping.start()
    try:
        assert bystander.listening.wait(HEARD_S) and stopping.listening.wait(HEARD_S)
        stopping.stop(timeout_s=10.0)  # far less than the 60 s look, far more than a nudge
        assert not stopping._thread.is_alive(), "stop waited for the listener's next look"
        assert not stopping.listening.is_set()
        time.sleep(0.3)
        assert bystander_heard.empty(), "the nudge reached another listener as a run"
    finally:
        stopping.stop(timeout_s=0)
        bystander.stop(timeout_s=10.0)
