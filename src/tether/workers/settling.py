"""Word across processes that a run has settled, so that a request waiting on it in another
process (`?wait=`) answers as soon as the run ends instead of at its next read of the store.

On PostgreSQL, a process that executes runs sends `NOTIFY tether_run_settled, '<run id>'` once
a run's Decision, or the approval request that suspends it, has committed (`SettleNotifier`, a
run observer); each API process listens on the channel (`SettleListener`) and wakes its
waiters of that run. A notice is a hint, never the truth: a lost one costs only time, since a
waiter still reads the store at its poll interval and answers from what the store says. On
SQLite a deployment is one process, whose waiters its runs wake directly.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Sequence

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from tether.core.types import Run, Step, StepKind

log = logging.getLogger("tether.workers")

CHANNEL = "tether_run_settled"
_NOTIFY = text("SELECT pg_notify(:channel, :run)")
_RETRY_MAX_S = 30.0  # the longest pause before a listener that lost its database tries again
_WAKE_S = 1.0  # how often a listener waiting for notices looks for a stop request


def settles(step: Step) -> bool:
    """Whether committing `step` leaves its run settled: ended, or suspended for a person."""
    return step.kind is StepKind.DECISION or (
        step.kind is StepKind.APPROVAL and step.name == "requested"
    )


class SettleNotifier:
    """A run observer that announces each run it sees settle on the PostgreSQL channel."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def on_steps(self, run: Run, steps: Sequence[Step]) -> None:
        if not any(settles(step) for step in steps):
            return
        try:
            with self.engine.begin() as conn:  # delivered to listeners when this commits
                conn.execute(_NOTIFY, {"channel": CHANNEL, "run": run.id})
        except SQLAlchemyError as exc:  # the waiters will read the store at their next poll
            log.warning("could not announce that %s settled: %s", run.id, exc.__class__.__name__)

    def on_run_end(self, run: Run) -> None:
        pass  # the Decision's step announced it already


class SettleListener:
    """Listens on the channel in a daemon thread and hands each settled run's id to every
    callback subscribed. A dropped connection is opened again, after a pause that doubles while
    failures come fast. One listener serves every subscriber of a process on one database
    (`subscribe`): the channel is the database's, whatever schema a store uses."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self._wakes: dict[int, Callable[[str], object]] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="tether-settled", daemon=True)
        self.listening = threading.Event()  # set while a connection listens
        self.backend_pid: int | None = None  # the listening connection's server process
        self._stop_channel = f"tether_stop_{uuid.uuid4().hex}"  # this listener's alone

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stopping.set()
        self._nudge()
        self._thread.join(timeout_s)

    def _nudge(self) -> None:
        """Wake the listener out of its wait on its own channel, so it stops now rather than
        at its next look (a server stopping, or each test's app, would wait for it)."""
        if not self.listening.is_set():
            return  # not connected: it waits on the stop event itself
        try:
            with psycopg.connect(self.conninfo, autocommit=True, connect_timeout=2) as conn:
                conn.execute("SELECT pg_notify(%s, '')", (self._stop_channel,))
        except psycopg.Error:
            pass  # it stops at its next look instead

    def add(self, wake: Callable[[str], object]) -> int:
        with self._lock:
            token = max(self._wakes, default=0) + 1
            self._wakes[token] = wake
        return token

    def remove(self, token: int) -> bool:
        """Drop a subscriber; True when none is left."""
        with self._lock:
            self._wakes.pop(token, None)
            return not self._wakes

    def _listen(self) -> None:
        pause = 1.0
        while not self._stopping.is_set():
            try:
                with psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    conn.execute(f"LISTEN {self._stop_channel}")
                    self.backend_pid = conn.info.backend_pid
                    self.listening.set()
                    pause = 1.0
                    while not self._stopping.is_set():
                        for notice in conn.notifies(timeout=_WAKE_S):
                            if notice.channel == CHANNEL:
                                self._wake(notice.payload)
                            elif self._stopping.is_set():  # nudged: stop waiting now
                                break
            except psycopg.Error as exc:
                self.listening.clear()
                log.warning("listening for settled runs failed (%s); trying again", exc)
                self._stopping.wait(pause)
                pause = min(pause * 2, _RETRY_MAX_S)
        self.listening.clear()

    def _wake(self, run_id: str) -> None:
        with self._lock:
            wakes = list(self._wakes.values())
        for wake in wakes:
            try:
                wake(run_id)
            except Exception:  # a waiter's trouble must not end the listening
                log.exception("waking the waiters of %s failed", run_id)


_listeners: dict[str, SettleListener] = {}
_listeners_lock = threading.Lock()


def _database_of(conninfo: str) -> str:
    """A connection string naming only the database (no schema path or application name)."""
    params = conninfo_to_dict(conninfo)
    for key in ("options", "application_name"):
        params.pop(key, None)
    return make_conninfo("", **params)


def subscribe(conninfo: str, wake: Callable[[str], object]) -> Callable[[], None]:
    """Hand `wake` the id of every run settled on the database of `conninfo`; returns the
    unsubscribe function. The process's listener on that database starts with its first
    subscriber and stops with its last."""
    key = _database_of(conninfo)
    with _listeners_lock:
        listener = _listeners.get(key)
        if listener is None:
            listener = _listeners[key] = SettleListener(key)
            listener.start()
        token = listener.add(wake)

    def unsubscribe() -> None:
        with _listeners_lock:
            if listener.remove(token) and _listeners.get(key) is listener:
                del _listeners[key]
                listener.stop()

    return unsubscribe


def listener_of(conninfo: str) -> SettleListener | None:
    """The process's listener on the database of `conninfo`, if it has one."""
    with _listeners_lock:
        return _listeners.get(_database_of(conninfo))
