"""Evaluations that `/metrics` refreshes at most once per interval (drift, business KPIs): they
read many runs, and scrapes come every few seconds."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Generic, TypeVar

from tether.core.errors import ErrorCode, TetherError

T = TypeVar("T")
MAX_EVERY_S = 86_400.0

log = logging.getLogger("tether.observe")


def every_seconds(env: Mapping[str, str], name: str, default: float) -> float:
    """The interval `env[name]` sets, in seconds from 0 (off) to a day; CONFIG_INVALID else."""
    raw = env.get(name, "").strip() or str(default)
    try:
        every = float(raw)
    except ValueError:
        every = -1.0
    if not 0 <= every <= MAX_EVERY_S:
        raise TetherError(
            ErrorCode.CONFIG_INVALID,
            f"{name} must be seconds from 0 (off) to {MAX_EVERY_S:.0f}, not {raw!r}",
        )
    return every


class Throttled(Generic[T]):
    """The latest result of `evaluate`, run again once `every_s` have passed since the last
    run began; a caller that finds another one evaluating gets the last result. A failed
    evaluation (a TetherError) is logged and keeps the last good result."""

    def __init__(
        self,
        evaluate: Callable[[], T],
        every_s: float,
        what: str,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._evaluate = evaluate
        self.every_s = every_s
        self._what = what
        self._monotonic = monotonic
        self._next = 0.0
        self._lock = threading.Lock()
        self.last: T | None = None

    def __call__(self) -> T | None:
        tick = self._monotonic()
        if tick < self._next or not self._lock.acquire(blocking=False):
            return self.last  # fresh enough, or another caller is evaluating right now
        try:
            self._next = tick + self.every_s
            self.last = self._evaluate()
        except TetherError as exc:
            log.warning("%s evaluation failed: %s", self._what, exc.message)
        finally:
            self._lock.release()
        return self.last
