"""Worker threads that run tool calls against a deadline.

A sync tool cannot be interrupted, so a call that overruns its deadline is abandoned: the
caller gets a timeout at once, and the thread finishes the call on its own and then retires.
Coroutine tools run on the worker's own event loop and are cancelled at the deadline. Every
call starts in an empty context, so no context variable one call sets reaches another. The pool
is shared by the whole process, so idle threads stay few however many runtimes exist.
`run_inline` runs a call on the caller's own thread instead, for tools whose envelope asks
for it (`Envelope.inline`).
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import threading
from collections.abc import Callable
from dataclasses import dataclass
from queue import Empty, SimpleQueue
from typing import Any

#: Extra time the caller grants a coroutine to finish its own cancellation.
ASYNC_GRACE_S = 0.05


@dataclass(frozen=True)
class Finished:
    """A job that ended in time: its value, or what it raised."""

    value: Any = None
    error: BaseException | None = None


class TimedOut:
    """The job overran its deadline; the caller has moved on."""


class PoolExhausted:
    """Too many abandoned calls are still running; no new thread is started."""


TIMED_OUT = TimedOut()
POOL_EXHAUSTED = PoolExhausted()

_loops = threading.local()


def _event_loop() -> asyncio.AbstractEventLoop:
    loop: asyncio.AbstractEventLoop | None = getattr(_loops, "loop", None)
    if loop is None:
        loop = _loops.loop = asyncio.new_event_loop()
    return loop


def _grace(timeout: float) -> float:
    return min(ASYNC_GRACE_S, timeout / 10)


@dataclass(frozen=True)
class _Raised:
    """What a coroutine raised, carried out of the event loop as a value."""

    error: BaseException


async def _contained(coroutine: Any) -> Any:
    """Await `coroutine` in this task's own frame, so that what it raises (SystemExit too,
    which asyncio would otherwise re-raise out of the loop with its callbacks still queued)
    ends this call alone; cancellation stays cancellation, for the timeout to act on."""
    try:
        return await coroutine
    except asyncio.CancelledError:
        raise
    except BaseException as exc:  # whatever the tool raises is the caller's to classify
        return _Raised(exc)


def settle(value: Any, timeout: float | None) -> Any:
    """The value itself, or, for a coroutine, its result; it is cancelled at the timeout.
    What the coroutine raises is raised here, after the loop has finished with the call."""
    if not inspect.iscoroutine(value):
        return value
    loop = _event_loop()
    task = loop.create_task(asyncio.wait_for(_contained(value), timeout))
    try:
        result = loop.run_until_complete(task)
    except BaseException as exc:  # a timeout ends the task cleanly; anything else escaped
        if not task.done() or not isinstance(exc, Exception):  # the loop mid-step (a task
            _loops.loop = None  # the tool started raised SystemExit, say): the next call
            loop.close()  # gets a fresh loop, never this call's leftovers
        raise
    if isinstance(result, _Raised):
        raise result.error
    return result


def run_inline(job: Callable[[], Any]) -> Finished:
    """Run `job` on the calling thread, in an empty context as a worker thread would run it
    (it sees none of the caller's context variables). What it raises is returned, as from a
    worker, SystemExit included; only KeyboardInterrupt, the caller's own, propagates."""
    try:
        return Finished(value=contextvars.Context().run(job))
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # whatever the tool raises is the caller's to classify
        return Finished(error=exc)


class _Worker:
    def __init__(self, pool: WorkerPool) -> None:
        self.pool = pool
        self.inbox: SimpleQueue[Callable[[], Any]] = SimpleQueue()
        self.outbox: SimpleQueue[Finished] = SimpleQueue()
        self.lock = threading.Lock()
        self.abandoned = False
        threading.Thread(target=self._serve, name="tether-tool", daemon=True).start()

    def _serve(self) -> None:
        while True:
            job = self.inbox.get()
            try:  # each call in an empty context: nothing one call sets is seen by the next
                result = Finished(value=contextvars.Context().run(job))
            except BaseException as exc:  # whatever the tool raises is the caller's to classify
                result = Finished(error=exc)
            with self.lock:
                if self.abandoned:
                    self.pool._retire()
                    return
                self.outbox.put(result)


class WorkerPool:
    """Runs jobs on reusable daemon threads, each with a deadline."""

    def __init__(self, max_abandoned: int = 64) -> None:
        self.max_abandoned = max_abandoned
        self._idle: list[_Worker] = []
        self._abandoned = 0
        self._cond = threading.Condition()

    @property
    def abandoned(self) -> int:
        """Abandoned calls whose threads are still running."""
        return self._abandoned

    def run(self, job: Callable[[], Any], timeout: float) -> Finished | TimedOut | PoolExhausted:
        """Run `job` on a worker; wait at most `timeout` seconds for it.

        A job that returns a coroutine should settle it itself (see `settle`), in the same
        context, so it is cancelled at its own deadline."""
        try:
            worker = self._idle.pop()
        except IndexError:
            if self._abandoned >= self.max_abandoned:
                return POOL_EXHAUSTED
            worker = _Worker(self)
        worker.inbox.put(job)
        try:
            return self._collect(worker, worker.outbox.get(timeout=timeout + _grace(timeout)))
        except BaseException as exc:  # Empty, or the caller itself was interrupted
            with worker.lock:
                try:  # the job may have finished between the timeout and taking the lock
                    late: Finished | None = worker.outbox.get_nowait()
                except Empty:
                    late = None
                    worker.abandoned = True
                    with self._cond:
                        self._abandoned += 1
            if late is not None:
                self._idle.append(worker)
            if not isinstance(exc, Empty):
                raise
            return TIMED_OUT if late is None else late

    def _collect(self, worker: _Worker, result: Finished) -> Finished:
        self._idle.append(worker)
        return result

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every abandoned call has finished; False if some still run at the end."""
        with self._cond:
            return self._cond.wait_for(lambda: self._abandoned == 0, timeout)

    def _retire(self) -> None:
        with self._cond:
            self._abandoned -= 1
            self._cond.notify_all()


_shared: WorkerPool | None = None
_shared_lock = threading.Lock()


def shared_pool() -> WorkerPool:
    """The process-wide pool."""
    global _shared
    if _shared is None:
        with _shared_lock:
            if _shared is None:
                _shared = WorkerPool()
    return _shared
