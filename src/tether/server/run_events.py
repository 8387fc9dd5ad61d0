"""Waiting on runs from async request handlers: `?wait=SECONDS` and the events stream.

What a run records is read from the store, so a run executing in another process (a worker)
is seen the same as one executing here; runs executing here also wake their waiters as their
steps commit (`RunSignals` is one of the runtime's observers), so a local wait does not sleep
through a poll interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from starlette.concurrency import run_in_threadpool

from tether.core.types import Run, RunStatus, Step, StepKind
from tether.store.runs import RunStore
from tether.workers.settling import settles

MAX_WAIT_S = 60.0  # the longest `?wait=SECONDS` any endpoint takes
POLL_S = 0.25  # how often a waiter reads the store when nothing here wakes it
STREAM_MAX_S = 300.0  # an events stream ends after this; the client reconnects with Last-Event-ID
KEEPALIVE_S = 15.0
SETTLED = (RunStatus.COMPLETED, RunStatus.SUSPENDED)


class Watch:
    """A waiter's registration for one run: set when a step of the run commits here (or, for
    a waiter on the run's end alone, when a step that settles it does)."""

    def __init__(self, every_step: bool) -> None:
        self.entry = (asyncio.get_running_loop(), asyncio.Event(), every_step)
        self.run_id: str | None = None  # the run it watches, once it does

    async def changed(self, timeout: float) -> bool:
        """Return once the run changed since the last call (or the watch began): True; or
        after `timeout` seconds: False."""
        event = self.entry[1]
        if not event.is_set():  # a wait_for of a set event still costs a task
            try:
                await asyncio.wait_for(event.wait(), timeout)
            except TimeoutError:
                return False
        event.clear()
        return True


class RunSignals:
    """Wakes the waiters of a run when its steps commit in this process (a run observer)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Event, bool]]] = {}
        self._ended: dict[str, Run] = {}  # runs that ended here while someone waited on them

    def on_steps(self, run: Run, steps: Sequence[Step]) -> None:
        # a Decision's waiters are woken by `on_run_end`, which comes right after it with the
        # ended run; until then only those following every step are
        ending = any(step.kind is StepKind.DECISION for step in steps)
        self._wake(run.id, not ending and any(settles(step) for step in steps))

    def on_run_end(self, run: Run) -> None:
        whole = len(run.steps) == run.step_count and all(
            step.seq == n for n, step in enumerate(run.steps, 1)
        )
        with self._lock:
            if whole and run.id in self._waiters:
                self._ended[run.id] = run
        self._wake(run.id, True)

    def ended(self, run_id: str) -> Run | None:
        """The run as it ended here, with every step, if it did while a waiter watched it:
        what the commit of its Decision stored, without reading it back."""
        with self._lock:
            return self._ended.get(run_id)

    def settled_elsewhere(self, run_id: str) -> None:
        """Another process says `run_id` has settled (see `tether.workers.settling`)."""
        self._wake(run_id, True)

    @contextlib.contextmanager
    def watching(self, run_id: str, every_step: bool = True) -> Iterator[Watch]:
        """Watch `run_id` for the block: a commit here from the moment the watch starts sets it,
        so a waiter that reads the store inside the block cannot miss a commit that lands
        between its read and its wait. `every_step=False`: only a commit that settles the run
        (its Decision, or the request that suspends it for a person) wakes the waiter, which
        then does not read the run again at every step."""
        watch = Watch(every_step)
        self.add(run_id, watch)
        try:
            yield watch
        finally:
            self.discard(run_id, watch)

    def add(self, run_id: str, watch: Watch) -> None:
        """Start `watch` on `run_id` (from any thread): every commit from now on sets it."""
        with self._lock:
            self._waiters.setdefault(run_id, set()).add(watch.entry)
            watch.run_id = run_id

    def discard(self, run_id: str, watch: Watch) -> None:
        """End `watch` on `run_id`; a watch that never started is no error."""
        with self._lock:
            waiting = self._waiters.get(run_id)
            if waiting is not None:
                waiting.discard(watch.entry)
                if not waiting:
                    del self._waiters[run_id]
                    self._ended.pop(run_id, None)

    def end(self, watch: Watch) -> None:
        """End `watch` on whichever run it watches, if any."""
        if watch.run_id is not None:
            self.discard(watch.run_id, watch)

    def _wake(self, run_id: str, settled: bool) -> None:
        with self._lock:
            entries = list(self._waiters.get(run_id, ()))
        for loop, event, every_step in entries:
            if not (every_step or settled):
                continue
            with contextlib.suppress(RuntimeError):  # its loop has closed
                loop.call_soon_threadsafe(event.set)


async def settled(store: RunStore, signals: RunSignals, run_id: str, wait_s: float) -> Run:
    """The run once it has ended or waits for a person, or as it is after `wait_s` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    with signals.watching(run_id, every_step=False) as watch:
        while True:
            run = await run_in_threadpool(store.get_run, run_id, False)
            remaining = deadline - loop.time()
            if run.status in SETTLED or remaining <= 0:
                return run
            await watch.changed(min(POLL_S, remaining))


async def settled_detail(
    store: RunStore,
    signals: RunSignals,
    run: Run,
    watch: Watch,
    wait_s: float,
    read_first: bool,
) -> Run:
    """`run` with its steps once it has ended or waits for a person, or as it is after
    `wait_s` seconds. Unless `read_first`, `run` is as the store held it when `watch` began,
    so no commit after it is missed without a read. A wake means the run settled here: a run
    that ended here is taken as it ended (`RunSignals.ended`), else read once, with its
    steps."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    full = False
    if read_first and wait_s > 0:  # (without a wait, the one read is the last one below)
        run = await run_in_threadpool(_read, store, run.id, False)
        full = run.status in SETTLED
    while run.status not in SETTLED:
        remaining = deadline - loop.time()
        if remaining <= 0:
            break
        woken = await watch.changed(min(POLL_S, remaining))
        ended = signals.ended(run.id) if woken else None
        if ended is not None:
            run, full = ended, True
            continue
        run = await run_in_threadpool(_read, store, run.id, woken)
        full = woken or run.status in SETTLED
    return run if full else await run_in_threadpool(store.get_run, run.id)


def _read(store: RunStore, run_id: str, likely_settled: bool) -> Run:
    """The run, with its steps if it has settled; in one read when it is likely to have."""
    if likely_settled:
        return store.get_run(run_id)
    run = store.get_run(run_id, with_steps=False)
    return store.get_run(run_id) if run.status in SETTLED else run


def _event(kind: str, data: Any, event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def run_events(
    store: RunStore,
    signals: RunSignals,
    run_id: str,
    after: int,
    disconnected: Any,
) -> AsyncIterator[str]:
    """Server-sent events of a run: `status` first and on every change, `step` for each
    committed step after `after` (its `id` is the step's seq), `decision` last; then it ends."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STREAM_MAX_S
    seen, status, quiet_since = after, None, loop.time()
    with signals.watching(run_id) as watch:
        while True:
            run = await run_in_threadpool(store.get_run, run_id, False)
            if status is None:  # where the run is, before what it did
                status = run.status
                yield _event("status", {"run": run_id, "status": status.value}, seen)
            if run.step_count > seen:
                for step in await run_in_threadpool(store.steps_after, run_id, seen):
                    yield _event("step", step.to_dict(), step.seq)
                    seen = step.seq
                quiet_since = loop.time()
            if run.status is not status:
                status = run.status
                yield _event("status", {"run": run_id, "status": status.value}, seen)
            if run.status is RunStatus.COMPLETED and run.decision is not None:
                yield _event("decision", run.decision.to_dict(), seen)
                return
            if loop.time() > deadline or await disconnected():
                return
            if loop.time() - quiet_since > KEEPALIVE_S:
                yield ": keep-alive\n\n"
                quiet_since = loop.time()
            await watch.changed(POLL_S)
