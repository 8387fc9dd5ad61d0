"""The run queue delivers "execute run X" to workers: each waiting run once, bounded, and
on PostgreSQL shared by every worker process through procrastinate's tables."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import create_engine, text

from tether.core.errors import ErrorCode, TetherError
from tether.store.runs import RunStore
from tether.workers import InlineQueue, PostgresQueue, RunQueue, open_queue
from tether.workers.pg_queue import libpq_conninfo

MakeQueue = Callable[[int], RunQueue]


class Recorder:
    """A handler that counts the runs it was given, safe to call from many threads."""

    def __init__(self, delay_s: float = 0.0, fail: Callable[[str], bool] | None = None) -> None:
        self.delay_s = delay_s
        self.fail = fail or (lambda _run_id: False)
        self.seen: Counter[str] = Counter()
        self.lock = threading.Lock()

    def __call__(self, run_id: str) -> None:
        if self.delay_s:
            time.sleep(self.delay_s)
        with self.lock:
            self.seen[run_id] += 1
        if self.fail(run_id):
            raise RuntimeError(f"handler failed on {run_id}")

    def wait_for(self, count: int, timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self.lock:
                if sum(self.seen.values()) >= count:
                    return
            time.sleep(0.01)
        raise AssertionError(f"{sum(self.seen.values())} of {count} runs handled in time")


@pytest.fixture
def queue_url(pg_url: str) -> str:
    """A fresh schema prepared the way every deployment prepares it: by opening the store."""
    RunStore.open(pg_url).close()
    return pg_url


@pytest.fixture(params=["inline", "postgres"])
def make_queue(request: pytest.FixtureRequest) -> Iterator[MakeQueue]:
    """The same contract on both queues; every queue made is stopped afterwards."""
    made: list[RunQueue] = []
    # asked for now, so the schema outlives the queues that use it
    url = request.getfixturevalue("queue_url") if request.param == "postgres" else ""

    def make(max_depth: int) -> RunQueue:
        q: RunQueue = PostgresQueue(url, max_depth) if url else InlineQueue(max_depth)
        made.append(q)
        return q

    yield make
    for q in made:
        q.stop(timeout_s=5)


def test_every_run_enqueued_is_handled_exactly_once(make_queue: MakeQueue) -> None:
    q = make_queue(500)
    handler = Recorder()
    q.start(handler, concurrency=4)
    ids = [f"run-{i}" for i in range(200)]
    for run_id in ids:
        q.enqueue(run_id)
    handler.wait_for(200)
    time.sleep(0.2)  # a duplicate delivery would show up now
    assert handler.seen == Counter(ids)
    assert q.depth() == 0


def test_a_full_queue_refuses_and_accepts_again_after_draining(make_queue: MakeQueue) -> None:
    q = make_queue(3)
    for run_id in ("a", "b", "c"):
        q.enqueue(run_id)  # before start: the runs wait
    assert q.depth() == 3
    with pytest.raises(TetherError) as refused:
        q.enqueue("d")
    assert refused.value.code is ErrorCode.QUEUE_FULL
    assert refused.value.code.info.http_status == 429
    handler = Recorder()
    q.start(handler, concurrency=2)
    handler.wait_for(3)
    deadline = time.monotonic() + 5
    while q.depth() and time.monotonic() < deadline:
        time.sleep(0.01)
    q.enqueue("d")
    handler.wait_for(4)
    assert handler.seen == Counter("abcd")


def test_a_handler_that_raises_does_not_stop_the_worker(
    make_queue: MakeQueue, caplog: pytest.LogCaptureFixture
) -> None:
    q = make_queue(10)
    handler = Recorder(fail=lambda run_id: run_id.startswith("bad"))
    caplog.set_level(logging.ERROR, logger="tether.workers")
    q.start(handler, concurrency=1)
    for run_id in ("bad-1", "good-1", "bad-2", "good-2"):
        q.enqueue(run_id)
    handler.wait_for(4)
    assert handler.seen == Counter(["bad-1", "good-1", "bad-2", "good-2"])
    failed = [r for r in caplog.records if r.name == "tether.workers"]
    assert {getattr(r, "run_id", None) for r in failed} == {"bad-1", "bad-2"}


def test_stop_lets_running_handlers_finish(make_queue: MakeQueue) -> None:
    q = make_queue(10)
    started = threading.Event()
    finished: list[str] = []

    def slow(run_id: str) -> None:
        started.set()
        time.sleep(0.5)
        finished.append(run_id)

    q.start(slow, concurrency=2)
    q.enqueue("slow-1")
    assert started.wait(5)
    q.stop(timeout_s=5)
    assert finished == ["slow-1"]


def test_a_stopped_queue_refuses_new_runs(make_queue: MakeQueue) -> None:
    q = make_queue(10)
    q.start(Recorder(), concurrency=1)
    q.stop(timeout_s=5)
    q.stop(timeout_s=5)  # a second stop is harmless
    with pytest.raises(TetherError) as refused:
        q.enqueue("too-late")
    assert refused.value.code is ErrorCode.QUEUE_UNAVAILABLE
    assert q.check() is not None


def test_the_same_run_enqueued_twice_while_waiting_is_handled_once(
    make_queue: MakeQueue,
) -> None:
    q = make_queue(10)
    q.enqueue("twice")
    q.enqueue("twice")
    assert q.depth() == 1
    handler = Recorder()
    q.start(handler, concurrency=4)
    handler.wait_for(1)
    time.sleep(0.3)
    assert handler.seen == Counter(["twice"])


def test_a_ready_queue_says_so(make_queue: MakeQueue) -> None:
    q = make_queue(10)
    assert q.check() is None
    assert q.kind in ("inline", "postgres")


# -- PostgreSQL only: what several worker processes sharing one database rely on --


def test_two_consumers_share_the_work_and_none_is_handled_twice(queue_url: str) -> None:
    producer = PostgresQueue(queue_url, 500)
    first, second = PostgresQueue(queue_url, 500), PostgresQueue(queue_url, 500)
    by_first, by_second = Recorder(delay_s=0.005), Recorder(delay_s=0.005)
    try:
        ids = [f"run-{i}" for i in range(200)]
        for run_id in ids:
            producer.enqueue(run_id)
        first.start(by_first, concurrency=4)
        second.start(by_second, concurrency=4)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if sum(by_first.seen.values()) + sum(by_second.seen.values()) >= 200:
                break
            time.sleep(0.01)
        time.sleep(0.2)
    finally:
        for q in (producer, first, second):
            q.stop(timeout_s=5)
    assert by_first.seen + by_second.seen == Counter(ids)
    assert not set(by_first.seen) & set(by_second.seen)
    assert by_first.seen and by_second.seen  # both took a share


def test_a_run_enqueued_by_one_process_is_handled_by_another(queue_url: str) -> None:
    api = PostgresQueue(queue_url, 10)
    api.enqueue("from-the-api")
    api.stop()  # the accepting process goes away without ever consuming
    worker = PostgresQueue(queue_url, 10)
    handler = Recorder()
    try:
        assert worker.depth() == 1
        worker.start(handler, concurrency=1)
        handler.wait_for(1)
    finally:
        worker.stop(timeout_s=5)
    assert handler.seen == Counter(["from-the-api"])


def test_an_unreachable_database_is_a_reason_not_an_exception(closed_pg_url: str) -> None:
    q = PostgresQueue(closed_pg_url, 10, timeout_s=1.0)
    try:
        reason = q.check()
        assert reason is not None and "queue" in reason
        with pytest.raises(TetherError) as refused:
            q.enqueue("nowhere")
        assert refused.value.code is ErrorCode.QUEUE_UNAVAILABLE
        assert refused.value.code.info.http_status == 503
    finally:
        q.stop(timeout_s=1)


@pytest.fixture
def closed_pg_url() -> str:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/test"


def test_store_urls_become_libpq_conninfo() -> None:
    url = "postgresql+psycopg://postgres:s%40cret@127.0.0.1:5432/test?options=-csearch_path%3Dt_1"
    params: dict[str, Any] = psycopg.conninfo.conninfo_to_dict(libpq_conninfo(url))
    assert params == {
        "user": "postgres",
        "password": "s@cret",
        "host": "127.0.0.1",
        "port": "5432",
        "dbname": "test",
        "options": "-csearch_path=t_1",
    }


# -- choosing the queue --


def test_open_queue_follows_the_store_and_tether_queue(
    sqlite_url: str, queue_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TETHER_QUEUE", raising=False)
    assert open_queue(sqlite_url, 10).kind == "inline"
    pg = open_queue(queue_url, 10)
    pg.stop()
    assert pg.kind == "postgres"
    monkeypatch.setenv("TETHER_QUEUE", "inline")
    assert open_queue(queue_url, 10).kind == "inline"


@pytest.mark.parametrize(
    ("value", "url"),
    [("kafka", "sqlite:///x.db"), ("postgres", "sqlite:///x.db")],
)
def test_open_queue_refuses_a_choice_it_cannot_honour(
    value: str, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TETHER_QUEUE", value)
    with pytest.raises(TetherError) as refused:
        open_queue(url, 10)
    assert refused.value.code is ErrorCode.CONFIG_INVALID
    assert "inline" in refused.value.message and "postgres" in refused.value.message


def test_a_worker_whose_connections_are_killed_goes_on_consuming(queue_url: str) -> None:
    name = f"tether-test-{uuid.uuid4().hex[:8]}"
    q = PostgresQueue(queue_url, 10, application_name=name)
    handler = Recorder()
    admin = create_engine(queue_url)
    try:
        q.start(handler, concurrency=2)
        q.enqueue("before")
        handler.wait_for(1)
        with admin.connect() as conn:
            killed = conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = :name"
                ),
                {"name": name},
            ).scalar()
        assert killed
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # the producer's pool replaces its dead connection
            try:
                q.enqueue("after")
                break
            except TetherError:
                time.sleep(0.2)
        handler.wait_for(2, timeout_s=15)
    finally:
        q.stop(timeout_s=5)
        admin.dispose()
    assert handler.seen == Counter(["before", "after"])


def test_a_worker_started_before_its_tables_exist_waits_for_them(pg_url: str) -> None:
    q = PostgresQueue(pg_url, 10)
    handler = Recorder()
    try:
        q.start(handler, concurrency=1)  # fails on the missing tables, and tries again
        assert q.check() == (
            "the run queue's tables are missing: open the store once to migrate it"
        )
        RunStore.open(pg_url).close()
        q.enqueue("late")
        handler.wait_for(1, timeout_s=10)
        assert q.check() is None
    finally:
        q.stop(timeout_s=5)
    assert handler.seen == Counter(["late"])


def test_enqueues_sent_at_once_take_no_more_than_the_depth(make_queue: MakeQueue) -> None:
    """Two producers (on PostgreSQL, two processes' worth of connections) enqueue at once: the
    queue takes exactly its depth, and refuses the rest as QUEUE_FULL."""
    first = make_queue(5)
    second = first if isinstance(first, InlineQueue) else make_queue(5)
    gate = threading.Barrier(20)
    taken: list[str] = []
    refused: list[ErrorCode] = []
    lock = threading.Lock()

    def enqueue(n: int) -> None:
        gate.wait()
        try:
            (first if n % 2 else second).enqueue(f"run-{n}")
        except TetherError as exc:
            with lock:
                refused.append(exc.code)
        else:
            with lock:
                taken.append(f"run-{n}")

    threads = [threading.Thread(target=enqueue, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(taken) == 5, f"{len(taken)} runs taken by a queue 5 deep"
    assert refused == [ErrorCode.QUEUE_FULL] * 15
    assert first.depth() == 5
