"""The run queue on PostgreSQL, built on procrastinate: jobs live in the store's own database.

Workers in any number of processes take jobs with `SELECT ... FOR UPDATE SKIP LOCKED`, so no
job is taken twice, and `LISTEN/NOTIFY` wakes them as soon as one is deferred. The bound on
waiting jobs holds across every process: each enqueue counts them and defers its job in one
transaction, under an advisory lock. Each domain pack has a queue of its own (`queue_name`), so
packs sharing a store never take each other's runs. The tables come from the store's
migrations (revision 0015), so opening the store prepares the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import procrastinate
import psycopg
import psycopg_pool
from procrastinate import exceptions as pq_errors
from psycopg.conninfo import make_conninfo
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from tether.core.errors import ErrorCode, TetherError
from tether.workers.queue import Handler, queue_full, run_handler

logger = logging.getLogger("tether.workers")

QUEUE_NAME = "tether-runs"
TASK_NAME = "tether.execute_run"


def queue_name(pack: str = "") -> str:
    """The queue of one domain pack's runs: packs sharing a store each take only their own
    (a worker handed a run whose agent it does not know could only end it)."""
    return f"{QUEUE_NAME}.{pack}" if pack else QUEUE_NAME


_RETRY_MAX_S = 30.0  # the longest pause before a worker that lost its database tries again
_URL_KEYS = {"username": "user", "password": "password", "host": "host", "port": "port"}


def libpq_conninfo(url: str) -> str:
    """A libpq connection string for a store URL (`postgresql+psycopg://...?options=...`)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise TetherError(ErrorCode.CONFIG_INVALID, "the run queue needs a database URL") from None
    if parsed.get_backend_name() not in ("postgresql", "postgres"):
        raise TetherError(
            ErrorCode.CONFIG_INVALID,
            f"the PostgreSQL run queue cannot use a {parsed.get_backend_name()!r} database",
        )
    params: dict[str, Any] = {
        key: getattr(parsed, attr)
        for attr, key in _URL_KEYS.items()
        if getattr(parsed, attr) is not None
    }
    if parsed.database:
        params["dbname"] = parsed.database
    for key, value in parsed.query.items():  # options, sslmode, ... pass through to libpq
        params[key] = value if isinstance(value, str) else value[-1]
    return make_conninfo("", **params)


def _reason(exc: BaseException) -> str:
    cause = exc.__cause__ or exc
    lines = str(cause).strip().splitlines()
    return lines[0] if lines else type(cause).__name__


class PostgresQueue:
    """A durable, bounded run queue shared by every process that opens the same store.

    `enqueue`, `depth` and `check` are synchronous (they serve request threads) and share one
    small connection pool; `start` runs a procrastinate worker on its own event loop in a
    daemon thread, and the blocking handler runs in that loop's thread pool.
    """

    kind = "postgres"

    def __init__(
        self,
        url: str,
        max_depth: int,
        timeout_s: float = 5.0,
        application_name: str = "tether-worker",
        pack: str = "",
    ) -> None:
        if max_depth < 1:
            raise TetherError(ErrorCode.CONFIG_INVALID, "the run queue's depth must be at least 1")
        self.max_depth = max_depth
        self.name = queue_name(pack)
        # the advisory lock an enqueue holds from its count of the waiting jobs to its insert
        self._depth_lock = f"tether.queue.depth:{self.name}"
        self.timeout_s = timeout_s
        self._conninfo = libpq_conninfo(url)
        # the name tells an operator's pg_stat_activity which connections are the queue's
        self._connect_args: dict[str, Any] = {
            "connect_timeout": max(2, round(timeout_s)),
            "application_name": application_name,
        }
        self._pool: psycopg_pool.ConnectionPool[psycopg.Connection[Any]] = (
            psycopg_pool.ConnectionPool(
                self._conninfo,
                min_size=1,
                max_size=4,
                timeout=timeout_s,
                kwargs=self._connect_args,
                check=psycopg_pool.ConnectionPool.check_connection,
                open=False,
            )
        )
        self._pool.open(wait=False)  # an unreachable database is check()'s to report, not ours
        self._app = procrastinate.App(connector=procrastinate.SyncPsycopgConnector())
        self._app.open(self._pool)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._main: asyncio.Task[None] | None = None
        self._thread: threading.Thread | None = None
        self._worker_error: str | None = None
        self._stopping = threading.Event()

    # -- the producer side ---------------------------------------------------------------

    def enqueue(self, run_id: str) -> None:
        """Defer the run's job unless `max_depth` jobs already wait (QUEUE_FULL). The count
        and the job's insert are one transaction holding an advisory lock every enqueue of
        every process waits for, so requests sent at once, to any replica, cannot all find the
        same room: each counts what the one before it committed."""
        try:
            with self._pool.connection(timeout=self.timeout_s) as conn, conn.transaction():
                # a statement of its own: a count in the same statement would read from before
                # the lock was had
                conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self._depth_lock,))
                if self._waiting(conn) >= self.max_depth:
                    raise queue_full(self.max_depth)
                # the lock names the queue: a job left in another queue never blocks this one
                self._app.configure_task(
                    name=TASK_NAME,
                    queue=self.name,
                    queueing_lock=f"{self.name}:{run_id}",
                    connection=conn,
                ).defer(run_id=run_id)
        except pq_errors.AlreadyEnqueued:
            return  # the run is waiting already, and one delivery is what it needs
        except (pq_errors.ConnectorException, psycopg.Error) as exc:
            raise self._unavailable(exc) from None

    def depth(self) -> int:
        try:
            with self._pool.connection(timeout=self.timeout_s) as conn:
                return self._waiting(conn)
        except psycopg.Error as exc:
            raise self._unavailable(exc) from None

    def _waiting(self, conn: psycopg.Connection[Any]) -> int:
        row = conn.execute(
            "SELECT count(*) FROM procrastinate_jobs WHERE queue_name = %s AND status = 'todo'",
            (self.name,),
        ).fetchone()
        return int(row[0]) if row else 0

    def check(self) -> str | None:
        try:
            with self._pool.connection(timeout=self.timeout_s) as conn:
                row = conn.execute(
                    "SELECT to_regclass('procrastinate_jobs') IS NOT NULL"
                ).fetchone()
        except Exception as exc:  # a probe reports, it never raises
            return f"the run queue cannot reach PostgreSQL: {_reason(exc)}"
        if not row or not row[0]:
            return "the run queue's tables are missing: open the store once to migrate it"
        if self._worker_error is not None:
            return f"the run queue's worker is reconnecting: {self._worker_error}"
        return None

    def _unavailable(self, exc: BaseException) -> TetherError:
        return TetherError(
            ErrorCode.QUEUE_UNAVAILABLE,
            f"the run queue on PostgreSQL is unavailable: {_reason(exc)}",
        )

    # -- the consumer side ---------------------------------------------------------------

    def start(self, handler: Handler, concurrency: int) -> None:
        if self._thread is not None:
            raise RuntimeError("this run queue was started already")
        if concurrency < 1:
            raise TetherError(ErrorCode.CONFIG_INVALID, "worker concurrency must be at least 1")
        loop = asyncio.new_event_loop()
        # blocking handlers run in the loop's default pool: one thread per concurrent job
        loop.set_default_executor(
            ThreadPoolExecutor(concurrency, thread_name_prefix="tether-worker")
        )
        self._loop = loop
        self._main = loop.create_task(self._work(handler, concurrency))
        self._thread = threading.Thread(
            target=self._serve, args=(loop, self._main), name="tether-queue", daemon=True
        )
        self._thread.start()

    @staticmethod
    def _serve(loop: asyncio.AbstractEventLoop, main: asyncio.Task[None]) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(main)
        except asyncio.CancelledError:
            pass  # stop() asked for it
        finally:
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()

    async def _work(self, handler: Handler, concurrency: int) -> None:
        """Run a procrastinate worker until cancelled; one that loses its database restarts."""

        def execute_run(run_id: str) -> None:
            run_handler(handler, run_id)

        pause = 1.0
        while True:
            began = time.monotonic()
            app = procrastinate.App(
                connector=procrastinate.PsycopgConnector(
                    conninfo=self._conninfo,
                    min_size=1,
                    max_size=concurrency + 2,
                    timeout=self.timeout_s,
                    kwargs=self._connect_args,
                )
            )
            app.task(name=TASK_NAME, queue=self.name)(execute_run)
            try:
                await self._run_worker(app, concurrency)
                return
            except Exception as exc:
                if self._stopping.is_set():
                    return  # an error while stopping: the stop still stands
                self._worker_error = _reason(exc)
                logger.warning(
                    "the run queue's worker stopped (%s); restarting", self._worker_error
                )
                # back off while failures come fast; a worker that ran a while starts afresh
                pause = 1.0 if time.monotonic() - began > _RETRY_MAX_S else pause
                await asyncio.sleep(pause)
                pause = min(pause * 2, _RETRY_MAX_S)

    async def _run_worker(self, app: procrastinate.App, concurrency: int) -> None:
        try:
            await app.open_async()
            self._worker_error = None
            await app.run_worker_async(
                queues=[self.name],
                concurrency=concurrency,
                name="tether",
                install_signal_handlers=False,
                delete_jobs="successful",
                fetch_job_polling_interval=1.0,
            )
        finally:
            # also when a stop lands while the pool is still opening, which would leave its
            # connection tasks behind on a closed loop
            with contextlib.suppress(Exception):
                await app.close_async()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop taking jobs, wait for running handlers (up to `timeout_s`), close the pool."""
        self._stopping.set()
        if self._loop is not None and self._main is not None and self._thread is not None:
            with contextlib.suppress(RuntimeError):  # raised when the loop has ended already
                self._loop.call_soon_threadsafe(self._main.cancel)  # procrastinate's graceful stop
            self._thread.join(timeout_s)
        self._app.close()
        self._pool.close()
