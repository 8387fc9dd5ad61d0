"""Leases and recovery with real processes killed by SIGKILL.

A process starts a conversation turn whose confirmed write cancels an order, and kills itself
right after one of the run's commits. On SQLite the one embedded process restarts (`tether
serve`) and recovers what it left; on PostgreSQL two `tether worker` processes run meanwhile and
one of them recovers it, also when the other is killed while resuming. Every run ends exactly
once, every cancellation happens exactly once (a trigger logs each committed order change), the
audit chain verifies, no run is left running, and every turn is recorded in its conversation
(also one killed after its Decision committed, before its process recorded it). Two `tether
serve` replicas sharing one SQLite file recover as two workers do on PostgreSQL.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from tether.conversations import ConversationStore
from tether.core.types import DecisionKind, RunStatus, StepKind
from tether.domains.retail.db import RetailDB
from tether.domains.retail.desk import open_retail_desk
from tether.store import RunStore
from tether.store.conversations_schema import conversations
from tether.store.schema import runs
from tether.workers.recovery import Recovery

CHILD = Path(__file__).with_name("kill_child.py")
TETHER = str(Path(sys.executable).parent / "tether")
WAIT_S = 60.0

# the commits of the confirmed turn's run, in order (0: it exists, dying in its retrieval;
# "read": dying once the read after the write returned, before anything of it committed)
BOUNDARIES = {
    "created": 0,
    "scope": 1,  # the run's capability is on record before anything uses it
    "retrieval_and_confirmation": 2,  # the retrieval acted on nothing: it waited
    "write_guard": 3,
    "write": 4,
    "read": "read",  # the model turn, the read and its verdict wait for the Decision's commit
    "decision": 5,
}

# customers with several pending orders: one order per killed run
HARPER = ("harper_johansson_2663", "harper.johansson4006@example.com")
AVA = ("ava_nguyen_6646", "ava.nguyen2868@example.com")
ORDERS = [
    (*HARPER, "#W3525030"),
    (*HARPER, "#W2912646"),
    (*HARPER, "#W3955289"),
    (*HARPER, "#W3282177"),
    (*HARPER, "#W4866703"),
    (*HARPER, "#W4720269"),
    (*HARPER, "#W9677982"),
    (*AVA, "#W8367380"),
]

SQLITE_TRIGGER = (
    "CREATE TRIGGER log_orders AFTER UPDATE ON retail_orders "
    "WHEN OLD.data <> NEW.data BEGIN INSERT INTO effects VALUES (NEW.id); END"
)
PG_TRIGGER = (
    "CREATE FUNCTION log_orders() RETURNS trigger AS $$ "
    "BEGIN INSERT INTO effects VALUES (NEW.id); RETURN NEW; END $$ LANGUAGE plpgsql",
    "CREATE TRIGGER log_orders AFTER UPDATE ON retail_orders FOR EACH ROW "
    "WHEN (OLD.data IS DISTINCT FROM NEW.data) EXECUTE FUNCTION log_orders()",
)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """What every process of a test shares: its home (audit key), and one-second leases."""
    home = os.environ.get("TETHER_HOME") or str(tmp_path / "home")
    monkeypatch.setenv("TETHER_HOME", home)
    monkeypatch.setenv("TETHER_RUN_LEASE_SECONDS", "1")
    keep = {k: v for k, v in os.environ.items() if not k.startswith("TETHER_")}
    return {**keep, "TETHER_HOME": home, "TETHER_RUN_LEASE_SECONDS": "1", "PYTHONUNBUFFERED": "1"}


def prepare(url: str) -> None:
    """The retail data beside the runs, a log of every committed order change, and the desk's
    access tables and audit key made once, before processes race to make them."""
    store = RunStore.open(url)
    db = RetailDB(store.engine)
    db.create_tables()
    db.load_packaged()
    statements = PG_TRIGGER if url.startswith("postgresql") else (SQLITE_TRIGGER,)
    with store.engine.begin() as conn:
        conn.execute(text("CREATE TABLE effects (record TEXT)"))
        for statement in statements:
            conn.execute(text(statement))
    open_retail_desk(store)
    store.close()


def kill_runs(url: str, env: dict[str, str], boundaries: Sequence[str], *extra: str) -> None:
    """One process per boundary, all at once; each dies by its own SIGKILL."""
    children = [
        subprocess.Popen(
            [sys.executable, str(CHILD), url, *ORDERS[i], str(BOUNDARIES[b]), *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**env, "TETHER_DATABASE_URL": url},
        )
        for i, b in enumerate(boundaries)
    ]
    for boundary, child in zip(boundaries, children, strict=True):
        _, err = child.communicate(timeout=WAIT_S)
        assert child.returncode == -signal.SIGKILL, f"{boundary}: rc={child.returncode}\n{err}"


def spawn(args: Sequence[str], env: dict[str, str], url: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [TETHER, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**env, "TETHER_DATABASE_URL": url},
    )


def stop(*processes: subprocess.Popen[str]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


def running(store: RunStore) -> list[str]:
    with store.engine.connect() as conn:
        query = select(runs.c.id).where(runs.c.status == RunStatus.RUNNING.value)
        return list(conn.execute(query).scalars())


def held(store: RunStore) -> list[str]:
    """The conversations a turn still holds."""
    with store.engine.connect() as conn:
        query = select(conversations.c.id).where(conversations.c.busy_run.is_not(None))
        return list(conn.execute(query).scalars())


def wait_until_none_running(url: str, *processes: subprocess.Popen[str]) -> None:
    """Until no run is running and no turn holds its conversation (each was recorded)."""
    store = RunStore.open(url)
    deadline = time.monotonic() + WAIT_S
    try:
        while running(store) or held(store):
            for process in processes:
                assert process.poll() is None, process.communicate()[1]
            assert time.monotonic() < deadline, f"running: {running(store)}, held: {held(store)}"
            time.sleep(0.2)
    finally:
        store.close()


def effects(store: RunStore) -> list[str]:
    with store.engine.connect() as conn:
        return sorted(conn.execute(text("SELECT record FROM effects")).scalars())


def check_ended_once(url: str, orders: Sequence[str], boundaries: Sequence[str]) -> None:
    """Each confirmed turn ended once in its action; each order was cancelled exactly once."""
    store = RunStore.open(url)
    desk = open_retail_desk(store)
    try:
        assert running(store) == []
        turns = {}
        for listed in store.list_runs(limit=1000):
            run = store.get_run(listed.id)
            assert run.status is RunStatus.COMPLETED, run.id
            assert [s.kind for s in run.steps].count(StepKind.DECISION) == 1, run.id
            assert [s.seq for s in run.steps] == list(range(1, len(run.steps) + 1)), run.id
            assert store.leases.holder(run.id) is None, run.id
            order = run.input["metadata"].get("order")
            if order is not None:  # the confirmed turn (the first asked for the confirmation)
                turns[order] = run
        assert sorted(turns) == sorted(orders)
        for order, boundary in zip(orders, boundaries, strict=True):
            run = turns[order]
            assert run.decision is not None, boundary
            assert run.decision.kind is DecisionKind.ACTION, (boundary, run.decision.to_dict())
            writes = [s for s in run.steps if s.kind is StepKind.TOOL and s.data["risk"] == "write"]
            assert len(writes) == 1, boundary
            record = RetailDB(store.engine).order(order)
            assert record is not None and record["status"] == "cancelled", boundary
            # a recovered turn is recorded in its conversation, once, as its process would have
            conversation = run.input["metadata"]["conversation"]
            kept = ConversationStore(store.engine).get(conversation)
            assert (kept.turns, kept.pending, kept.busy_run) == (2, None, None), boundary
            recorded = [t.run_id for t in ConversationStore(store.engine).turns(conversation)]
            assert recorded[1:] == [run.id], boundary
        assert effects(store) == sorted(orders)  # each order changed once, and only once
        assert desk.access is not None and desk.access.verify_audit().ok
    finally:
        store.close()


def orders_of(boundaries: Sequence[str]) -> list[str]:
    return [ORDERS[i][2] for i in range(len(boundaries))]


def restart_and_recover(url: str, env: dict[str, str], boundaries: Sequence[str]) -> None:
    """Kill the one embedded process at each boundary, then restart it: it recovers them all."""
    prepare(url)
    kill_runs(url, env, boundaries)
    store = RunStore.open(url)
    left = len(running(store))
    store.close()
    assert left == len([b for b in boundaries if b != "decision"])  # what the kills left
    server = spawn(["serve", "--port", str(free_port())], env, url)
    try:
        wait_until_none_running(url, server)
    finally:
        stop(server)
    check_ended_once(url, orders_of(boundaries), boundaries)


def test_a_restarted_process_ends_once_the_runs_killed_at_every_boundary(
    sqlite_url: str, env: dict[str, str]
) -> None:
    restart_and_recover(sqlite_url, env, list(BOUNDARIES))


def test_a_recovered_turn_is_part_of_its_conversation(sqlite_url: str, env: dict[str, str]) -> None:
    prepare(sqlite_url)
    kill_runs(sqlite_url, env, ["write"])
    time.sleep(1.1)  # the killed process's lease lapses
    store = RunStore.open(sqlite_url)
    desk = open_retail_desk(store)
    (recovered,) = Recovery(desk.runtime, models=None).sweep()
    assert recovered.decision is not None and recovered.decision.kind is DecisionKind.ACTION
    record = ConversationStore(store.engine).get(recovered.input["metadata"]["conversation"])
    store.close()
    assert record.turns == 2  # the confirmed turn counts, as if its process had lived
    assert record.pending is None  # what it confirmed is done, not waiting to be done again
    assert record.busy_run is None  # and the next turn may begin at once


def test_a_worker_recovers_the_runs_killed_at_every_boundary(
    pg_url: str, env: dict[str, str]
) -> None:
    prepare(pg_url)
    workers = [spawn(["worker"], env, pg_url) for _ in range(2)]
    try:
        kill_runs(pg_url, env, list(BOUNDARIES))
        wait_until_none_running(pg_url, *workers)
    finally:
        stop(*workers)
    check_ended_once(pg_url, orders_of(list(BOUNDARIES)), list(BOUNDARIES))


def test_serve_replicas_sharing_a_sqlite_file_end_once_the_runs_killed_at_every_boundary(
    sqlite_url: str, env: dict[str, str]
) -> None:
    """Two `tether serve` replicas on one SQLite file stay up while processes die at every
    boundary: both sweep, the first to claim a run resumes it, and each run ends once."""
    prepare(sqlite_url)
    replicas = [spawn(["serve", "--port", str(free_port())], env, sqlite_url) for _ in range(2)]
    try:
        kill_runs(sqlite_url, env, list(BOUNDARIES))
        wait_until_none_running(sqlite_url, *replicas)
    finally:
        stop(*replicas)
    check_ended_once(sqlite_url, orders_of(list(BOUNDARIES)), list(BOUNDARIES))


class SlowModel:
    """An OpenAI-compatible endpoint that holds its first request until released."""

    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.requests: list[float] = []
        self.release = threading.Event()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                endpoint.answer(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def answer(self, request: BaseHTTPRequestHandler) -> None:
        request.rfile.read(int(request.headers.get("Content-Length", "0")))
        self.requests.append(time.time())
        if len(self.requests) == 1:
            self.release.wait(WAIT_S)
        message = {"role": "assistant", "content": self.reply}
        body = json.dumps({"model": "slow", "choices": [{"message": message}]}).encode()
        try:
            request.send_response(200)
            request.send_header("Content-Type", "application/json")
            request.send_header("Content-Length", str(len(body)))
            request.end_headers()
            request.wfile.write(body)
        except OSError:  # the worker that asked was killed meanwhile
            pass


@pytest.fixture
def slow_model() -> Iterator[SlowModel]:
    # the write is the confirmed turn's first tool result, the conversation's third
    model = SlowModel(f"Order {ORDERS[0][2]} is now cancelled [tool:3].")
    thread = threading.Thread(target=model.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield model
    finally:
        model.release.set()
        model.server.shutdown()
        model.server.server_close()


def recoverer(backend: str) -> list[str]:
    """What recovers runs on each store: a `tether worker` beside PostgreSQL, a `tether serve`
    replica sharing a SQLite file."""
    return ["worker"] if backend == "postgresql" else ["serve", "--port", str(free_port())]


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_a_worker_killed_while_resuming_leaves_the_run_to_the_other(
    backend: str, request: pytest.FixtureRequest, env: dict[str, str], slow_model: SlowModel
) -> None:
    """The run dies right after its write; the worker (or SQLite replica) that resumes it is
    killed while it waits for the model; the other takes the run over once that lease lapses,
    and ends it."""
    url: str = request.getfixturevalue("pg_url" if backend == "postgresql" else "sqlite_url")
    model = slow_model
    prepare(url)
    configured = {**env, "TETHER_MODEL": "openai:slow", "TETHER_OPENAI_BASE_URL": model.base_url}
    workers = {w.pid: w for w in (spawn(recoverer(backend), configured, url) for _ in range(2))}
    try:
        kill_runs(url, env, ["write"], "--no-script")
        deadline = time.monotonic() + WAIT_S
        while not model.requests:  # a worker resumed the run and asks the model
            assert time.monotonic() < deadline, "no worker resumed the run"
            time.sleep(0.05)
        store = RunStore.open(url)
        (run_id,) = running(store)
        holder = store.leases.holder(run_id)
        store.close()
        assert holder is not None
        pid = int(holder.owner.split(":")[1])
        assert pid in workers
        os.kill(pid, signal.SIGKILL)
        workers[pid].communicate()
        model.release.set()
        (other,) = [w for p, w in workers.items() if p != pid]
        wait_until_none_running(url, other)
    finally:
        stop(*workers.values())
    assert len(model.requests) == 2  # asked by the killed worker, then by the other
    check_ended_once(url, [ORDERS[0][2]], ["write"])
    store = RunStore.open(url)
    (turn,) = [r for r in store.list_runs() if r.input["metadata"].get("order")]
    steps = store.get_run(turn.id).steps
    assert [s.kind for s in steps].count(StepKind.MODEL_TURN) == 1  # recorded once
    store.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port
