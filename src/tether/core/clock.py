"""Clock and id sources: injectable so that runs can be replayed bit for bit."""

from __future__ import annotations

import itertools
import time
import uuid
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Wall-clock seconds since the epoch."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards (for limits and latencies)."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()


class ManualClock:
    """A deterministic clock for tests and replay: advances only when told to."""

    def __init__(self, start: float = 1_700_000_000.0, tick: float = 0.0) -> None:
        self._t = start
        self._tick = tick

    def now(self) -> float:
        self._t += self._tick
        return self._t

    def monotonic(self) -> float:
        return self.now()

    def advance(self, seconds: float) -> None:
        self._t += seconds


class IdSource(Protocol):
    def new_id(self, prefix: str) -> str: ...

    def new_trace_id(self) -> str:
        """A W3C/OpenTelemetry trace id: 32 lowercase hex digits, never all zeros."""
        ...


class RandomIds:
    def new_id(self, prefix: str) -> str:
        return f"{prefix}_{uuid.uuid4().hex}"

    def new_trace_id(self) -> str:
        return uuid.uuid4().hex  # 122 random bits; the version nibble keeps it non-zero


class SequentialIds:
    """Deterministic ids (`run_000001`, …) for tests and replay."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)
        self._traces = itertools.count(1)  # apart, so run ids number the same as before

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._counter):06d}"

    def new_trace_id(self) -> str:
        return f"{next(self._traces):032x}"
