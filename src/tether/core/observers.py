"""The observation seam: tracing, metrics and KPIs watch runs through it, after each commit."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

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
