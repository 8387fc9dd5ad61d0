"""The observation seam: tracing, metrics and KPIs watch runs through it, after each commit.

An observer that keeps something of a run's end in the system of record (the KPI rollups) may
also implement `on_run_ending(conn, run)`: it runs inside the transaction that commits the
Decision, so what it writes is kept exactly when the Decision is, even if the process dies
right after the commit. It must only write; preparing what to write happens before, and a
failure there is logged and left to `on_run_end`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from tether.core.types import Run, Step

log = logging.getLogger("tether.observe")


class RunObserver(Protocol):
    def on_steps(self, run: Run, steps: Sequence[Step]) -> None:
        """Steps of `run` just became durable (called in order, after their commit)."""
        ...

    def on_run_end(self, run: Run) -> None:
        """`run` ended in a Decision (it carries every step this process recorded)."""
        ...


def notify_steps(observers: Sequence[RunObserver], run: Run, steps: Sequence[Step]) -> None:
    for observer in observers:
        try:
            observer.on_steps(run, steps)
        except Exception:  # an observer must never fail or slow the run it watches
            log.exception("observer %s failed on steps of %s", type(observer).__name__, run.id)


def notify_run_end(observers: Sequence[RunObserver], run: Run) -> None:
    for observer in observers:
        try:
            observer.on_run_end(run)
        except Exception:
            log.exception("observer %s failed at the end of %s", type(observer).__name__, run.id)


class EndingObserver(Protocol):
    def prepare_ending(self, run: Run) -> Callable[[Any], None] | None:
        """What to write of `run`'s end, as a function of the Decision's transaction's
        connection; None to leave it to `on_run_end`. Called inside that transaction, it must
        not write itself; if it raises, the error is logged and the Decision commits anyway."""
        ...


def ending_hook(
    observers: Sequence[RunObserver], ended: Callable[[], Run]
) -> Callable[[Any], None] | None:
    """One commit hook running, inside the Decision's transaction, the writes of the observers
    that keep something of a run's end; `ended()` is the run as the Decision leaves it."""
    keepers = [o for o in observers if hasattr(o, "prepare_ending")]
    if not keepers:
        return None

    def hook(conn: Any) -> None:
        run = ended()
        for observer in keepers:
            try:
                write = observer.prepare_ending(run)
            except Exception:  # preparing is the observer's business: the Decision goes on
                name = type(observer).__name__
                log.exception("observer %s failed preparing the end of %s", name, run.id)
                continue
            if write is not None:
                write(conn)

    return hook
