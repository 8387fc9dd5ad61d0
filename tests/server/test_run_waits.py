"""A waiter on a run (`?wait=` and the events stream) cannot miss a commit that lands between
its read of the store and its wait: it watches the run before it reads."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any, TypeVar

import pytest

from tether.core.types import RunStatus, StepKind
from tether.server import run_events
from tether.server.run_events import RunSignals, settled
from tether.server.run_events import run_events as stream

LONG_POLL_S = 30.0  # a missed wake-up would sleep this long before reading again
T = TypeVar("T")


def run_alone(work: Coroutine[Any, Any, T]) -> T:
    """Run `work` on an event loop of its own thread (a browser test may have left one
    running in this thread)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, work).result()


def ended_elsewhere(run_id: str) -> Any:
    """A run's end as an observer hears of it, without its steps (so it is read back)."""
    return SimpleNamespace(id=run_id, steps=(), step_count=3)


class CommitsDuringRead:
    """A store whose run ends while the waiter's first read is in flight: the commit's wake-up
    comes after the read saw the run running and before the waiter starts waiting."""

    def __init__(self, signals: RunSignals) -> None:
        self.signals, self.reads = signals, 0

    def get_run(self, run_id: str, with_steps: bool = True) -> Any:
        self.reads += 1
        if self.reads == 1:
            self.signals.on_run_end(ended_elsewhere(run_id))
            return SimpleNamespace(status=RunStatus.RUNNING, step_count=0, decision=None)
        decision = SimpleNamespace(to_dict=lambda: {"kind": "answer"})
        return SimpleNamespace(status=RunStatus.COMPLETED, step_count=0, decision=decision)

    def steps_after(self, run_id: str, seq: int) -> list[Any]:
        return []


@pytest.fixture
def long_poll(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run_events, "POLL_S", LONG_POLL_S)


def test_a_wait_sees_the_commit_that_lands_during_its_read(long_poll: None) -> None:
    signals = RunSignals()
    store = CommitsDuringRead(signals)

    async def wait() -> Any:
        # far below the poll interval: only the wake-up can end the wait in time
        return await asyncio.wait_for(settled(store, signals, "run_1", 60), LONG_POLL_S / 6)  # type: ignore[arg-type]

    run = run_alone(wait())
    assert run.status is RunStatus.COMPLETED and store.reads == 2


def test_the_events_stream_sees_the_commit_that_lands_during_its_read(long_poll: None) -> None:
    signals = RunSignals()
    store = CommitsDuringRead(signals)

    async def never() -> bool:
        return False

    async def follow() -> list[str]:
        return [e async for e in stream(store, signals, "run_1", 0, never)]  # type: ignore[arg-type]

    events = run_alone(asyncio.wait_for(follow(), LONG_POLL_S / 6))
    assert [e.split("\n")[1] for e in events][-1] == "event: decision"
    assert store.reads == 2


def step(kind: StepKind, name: str = "x") -> Any:
    return SimpleNamespace(kind=kind, name=name)


def test_a_wait_on_the_end_wakes_only_when_the_run_settles() -> None:
    signals = RunSignals()
    run = SimpleNamespace(id="run_1")

    async def watch() -> list[bool]:
        seen = []
        with signals.watching("run_1", every_step=False) as ends, signals.watching("run_1") as all_:
            for steps in (
                [step(StepKind.TOOL), step(StepKind.GUARD)],
                [step(StepKind.APPROVAL, "decided")],
            ):
                signals.on_steps(run, steps)  # type: ignore[arg-type]
                await asyncio.sleep(0)  # let the wake-ups land
                seen += [ends.entry[1].is_set(), all_.entry[1].is_set()]
                await all_.changed(0)
            for steps in ([step(StepKind.APPROVAL, "requested")], [step(StepKind.DECISION)]):
                signals.on_steps(run, steps)  # type: ignore[arg-type]
                await asyncio.sleep(0)
                seen.append(ends.entry[1].is_set())
                await ends.changed(0)
            signals.on_run_end(ended_elsewhere("run_1"))  # a Decision's end comes after it
            await asyncio.sleep(0)
            seen.append(ends.entry[1].is_set())
        return seen

    # an approval request wakes the end's waiters at once; a Decision, with the ended run
    assert run_alone(watch()) == [False, True, False, True, True, False, True]


class SettlesWhenQueued:
    """A store whose run has already ended by the time the POST waits on it (its worker ran
    while the request was still queuing it): reads are counted, with and without steps."""

    def __init__(self) -> None:
        self.reads: list[bool] = []

    def get_run(self, run_id: str, with_steps: bool = True) -> Any:
        self.reads.append(with_steps)
        steps = (SimpleNamespace(seq=1),) if with_steps else ()
        return SimpleNamespace(id=run_id, status=RunStatus.COMPLETED, step_count=1, steps=steps)


def queued(run_id: str = "run_1") -> Any:
    return SimpleNamespace(id=run_id, status=RunStatus.QUEUED, step_count=0, steps=())


def test_a_post_watching_before_the_queue_reads_its_settled_run_once(long_poll: None) -> None:
    """The watch starts before the run is queued, so the end's wake-up is waiting for it: the
    run is read once, with its steps, and long before the poll would have read it."""
    signals, store = RunSignals(), SettlesWhenQueued()

    async def post() -> Any:
        watch = run_events.Watch(every_step=False)
        signals.add("run_1", watch)
        signals.on_run_end(ended_elsewhere("run_1"))  # the worker ended it meanwhile
        await asyncio.sleep(0)
        try:
            wait = run_events.settled_detail(store, signals, queued(), watch, 60, read_first=False)  # type: ignore[arg-type]
            return await asyncio.wait_for(wait, LONG_POLL_S / 6)
        finally:
            signals.discard("run_1", watch)

    run = run_alone(post())
    assert run.status is RunStatus.COMPLETED and run.steps
    assert store.reads == [True]


def test_a_post_that_may_have_missed_the_end_reads_before_it_waits(long_poll: None) -> None:
    """A retry that took over a stored run watches it only now: it reads first, and a run that
    ended already is answered at once, with its steps."""
    signals, store = RunSignals(), SettlesWhenQueued()

    async def post() -> Any:
        with signals.watching("run_1", every_step=False) as watch:
            wait = run_events.settled_detail(store, signals, queued(), watch, 60, read_first=True)  # type: ignore[arg-type]
            return await asyncio.wait_for(wait, LONG_POLL_S / 6)

    run = run_alone(post())
    assert run.status is RunStatus.COMPLETED and run.steps
    assert store.reads == [False, True]


def test_a_wait_that_runs_out_answers_the_run_with_its_steps() -> None:
    class Running:
        def __init__(self) -> None:
            self.reads: list[bool] = []

        def get_run(self, run_id: str, with_steps: bool = True) -> Any:
            self.reads.append(with_steps)
            steps = (SimpleNamespace(seq=1),) if with_steps else ()
            return SimpleNamespace(id=run_id, status=RunStatus.RUNNING, step_count=1, steps=steps)

    signals, store = RunSignals(), Running()

    async def post() -> Any:
        with signals.watching("run_1", every_step=False) as watch:
            return await run_events.settled_detail(
                store, signals, queued(), watch, 0.3, read_first=False
            )  # type: ignore[arg-type]

    run = run_alone(post())
    assert run.status is RunStatus.RUNNING and run.steps
    assert store.reads[-1] is True and not any(store.reads[:-1])
