"""The run queue: hands "execute run X" from whoever accepted a run to the workers that run it.

The queue only delivers run ids. A delivery lost to a crash is not the queue's to repair: a run
whose lease expired is picked up again by the recovery sweep, so neither queue here retries.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Mapping
from typing import Protocol

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from tether.core.errors import ErrorCode, TetherError

logger = logging.getLogger("tether.workers")

Handler = Callable[[str], None]
KINDS = ("inline", "postgres")
_POLL_S = 0.1  # how often an idle inline worker looks for a stop request


class RunQueue(Protocol):
    """Where accepted runs wait for a worker. `kind` is "inline" or "postgres"."""

    kind: str
    max_depth: int

    def enqueue(self, run_id: str) -> None:
        """Queue a run; a run already waiting is not queued again. QUEUE_FULL when full."""
        ...

    def depth(self) -> int:
        """How many runs wait for a worker (taken runs no longer count)."""
        ...

    def check(self) -> str | None:
        """None when the queue can take and deliver runs, else a one-line reason."""
        ...

    def start(self, handler: Handler, concurrency: int) -> None:
        """Consume in the background: `concurrency` runs at once, each through `handler`."""
        ...

    def stop(self, timeout_s: float = 10.0) -> None:
        """Take no more runs, and wait up to `timeout_s` for the running handlers to finish."""
        ...


def run_handler(handler: Handler, run_id: str) -> None:
    """Call the handler; its failure is logged, never allowed to end the worker calling it."""
    try:
        handler(run_id)
    except Exception:
        logger.exception("handling run %s failed", run_id, extra={"run_id": run_id})


def queue_full(max_depth: int) -> TetherError:
    return TetherError(
        ErrorCode.QUEUE_FULL,
        f"{max_depth} runs are already waiting for a worker; retry shortly",
        {"max_depth": max_depth},
    )


class InlineQueue:
    """The embedded default: a bounded in-process queue and a pool of daemon threads.

    Nothing outlives the process; a run that was waiting when it stopped is resumed by the
    recovery sweep of the next process, as a run that was running is.
    """

    kind = "inline"

    def __init__(self, max_depth: int) -> None:
        if max_depth < 1:
            raise TetherError(ErrorCode.CONFIG_INVALID, "the run queue's depth must be at least 1")
        self.max_depth = max_depth
        self._items: queue.Queue[str] = queue.Queue(maxsize=max_depth)
        self._waiting: set[str] = set()  # ids in _items, so a waiting run is queued once
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def enqueue(self, run_id: str) -> None:
        if self._stopping.is_set():  # no thread would ever take it
            raise TetherError(ErrorCode.QUEUE_UNAVAILABLE, "the in-process run queue has stopped")
        with self._lock:
            if run_id in self._waiting:
                return
            try:
                self._items.put_nowait(run_id)
            except queue.Full:
                raise queue_full(self.max_depth) from None
            self._waiting.add(run_id)

    def depth(self) -> int:
        return self._items.qsize()

    def check(self) -> str | None:
        if self._stopping.is_set():
            return "the in-process run queue has stopped taking runs"
        return None

    def start(self, handler: Handler, concurrency: int) -> None:
        if self._threads:
            raise RuntimeError("this run queue was started already")
        if concurrency < 1:
            raise TetherError(ErrorCode.CONFIG_INVALID, "worker concurrency must be at least 1")
        for n in range(concurrency):
            thread = threading.Thread(
                target=self._consume, args=(handler,), name=f"tether-worker-{n}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def _consume(self, handler: Handler) -> None:
        while not self._stopping.is_set():
            try:
                run_id = self._items.get(timeout=_POLL_S)
            except queue.Empty:
                continue
            with self._lock:
                self._waiting.discard(run_id)
            run_handler(handler, run_id)

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stopping.set()
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))


def open_queue(
    store_url: str, max_depth: int, environ: Mapping[str, str] | None = None, pack: str = ""
) -> RunQueue:
    """The queue for a store: PostgreSQL's when the store is PostgreSQL, else in-process;
    on PostgreSQL, the queue of `pack`'s runs (the domain pack the process hosts).

    `TETHER_QUEUE` ("inline" or "postgres") overrides the choice; "postgres" needs a
    PostgreSQL store, since the jobs live in its database.
    """
    env = os.environ if environ is None else environ
    wanted = env.get("TETHER_QUEUE", "").strip().lower()
    if wanted and wanted not in KINDS:
        raise TetherError(
            ErrorCode.CONFIG_INVALID,
            f"TETHER_QUEUE={wanted!r} is not a run queue; choose one of: {', '.join(KINDS)}",
        )
    on_postgres = _is_postgres(store_url)
    if wanted == "postgres" and not on_postgres:
        raise TetherError(
            ErrorCode.CONFIG_INVALID,
            "TETHER_QUEUE=postgres keeps its jobs in the store's database, which is not "
            "PostgreSQL here; set TETHER_QUEUE=inline or use a PostgreSQL TETHER_DATABASE_URL",
        )
    if on_postgres and wanted != "inline":
        from tether.workers.pg_queue import PostgresQueue  # procrastinate only when needed

        return PostgresQueue(store_url, max_depth, pack=pack)
    return InlineQueue(max_depth)


def _is_postgres(url: str) -> bool:
    try:
        return make_url(url).get_backend_name() in ("postgresql", "postgres")
    except ArgumentError:
        return False
