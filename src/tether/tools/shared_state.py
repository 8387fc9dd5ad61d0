"""Circuit-breaker and rate-limit state: in process by default, in Redis across replicas.

`admit` decides whether a call may start (rate limits first, then the breaker) and commits
the decision atomically: tokens are taken and a half-open probe slot is claimed only when the
call is admitted. `record` feeds the call's result to the breaker. This module holds the
in-process state; `tether.tools.redis_state` holds the same logic as Redis scripts.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from tether.core.clock import Clock, SystemClock
from tether.core.envelope import BreakerPolicy, Envelope, TokenBucket
from tether.core.errors import ErrorCode
from tether.core.redis_client import redis_prefix

WINDOW_BUCKETS = 10  # a breaker window is kept as this many time slices
MAX_BUCKETS = 10_000  # in-process token buckets kept before full ones are dropped


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True)
class Admission:
    """Whether a call may start; when not, the code and when to try again."""

    allowed: bool
    code: ErrorCode | None = None  # RATE_LIMITED or CIRCUIT_OPEN
    retry_after_s: float = 0.0
    breaker: BreakerState = BreakerState.CLOSED
    probe: bool = False  # a half-open trial call, whose result decides the breaker
    degraded: bool = False  # the shared store was unreachable; this process's state decided


ADMITTED = Admission(True)


@dataclass(frozen=True)
class BreakerUpdate:
    state: BreakerState
    opened: bool = False  # this result opened the breaker
    degraded: bool = False


class SharedState(Protocol):
    def admit(self, tool: str, principal: str, envelope: Envelope) -> Admission:
        """Admit a call under the envelope's rate limits and breaker, or say why not."""
        ...

    def record(self, tool: str, policy: BreakerPolicy, failed: bool, probe: bool) -> BreakerUpdate:
        """Feed one admitted call's result to the tool's breaker."""
        ...

    def breaker(self, tool: str) -> BreakerState:
        """The breaker's current state (for display and tests)."""
        ...


def refuse(code: ErrorCode, wait_s: float, state: BreakerState) -> Admission:
    """A refused admission (`wait_s` until a retry may succeed)."""
    return Admission(False, code, max(wait_s, 0.0), state)


# -- in process -------------------------------------------------------------------------------


class _Bucket:
    __slots__ = ("spec", "stamp", "tokens")

    def __init__(self, spec: TokenBucket, now: float) -> None:
        self.spec = spec  # the limit it was last used under, which says when it is full
        self.tokens = float(spec.burst)
        self.stamp = now

    def wait(self, spec: TokenBucket, now: float) -> float:
        """Refill to `now`; seconds until one token is available (0 when one is)."""
        self.spec = spec
        self.tokens = min(spec.burst, self.tokens + (now - self.stamp) * spec.rate_per_s)
        self.stamp = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / spec.rate_per_s

    def full(self, now: float) -> bool:
        """Whether it has refilled to its own burst by `now`: forgetting it then loses nothing,
        as a new bucket starts full."""
        refilled = self.tokens + (now - self.stamp) * self.spec.rate_per_s
        return refilled >= self.spec.burst


class _Breaker:
    __slots__ = ("counts", "probes", "state", "successes", "until")

    def __init__(self) -> None:
        self.counts: dict[int, list[int]] = {}  # time slice -> [calls, failures]
        self._close()

    def _close(self) -> None:
        self.state = BreakerState.CLOSED
        self.until = 0.0  # OPEN: when it may half-open; HALF_OPEN: when stuck probes expire
        self.probes = 0
        self.successes = 0
        self.counts.clear()

    def admit(self, policy: BreakerPolicy, now: float) -> Admission:
        if self.state is BreakerState.OPEN:
            if now < self.until:
                return refuse(ErrorCode.CIRCUIT_OPEN, self.until - now, self.state)
            self.state, self.probes, self.successes = BreakerState.HALF_OPEN, 0, 0
            self.until = now + policy.open_s
        if self.state is BreakerState.HALF_OPEN:
            if now >= self.until:  # probes that never reported back (their process died)
                self.probes, self.until = 0, now + policy.open_s
            if self.probes >= policy.half_open_probes:
                return refuse(ErrorCode.CIRCUIT_OPEN, self.until - now, self.state)
            self.probes += 1
            return Admission(True, breaker=self.state, probe=True)
        return ADMITTED

    def record(self, policy: BreakerPolicy, failed: bool, probe: bool, now: float) -> BreakerUpdate:
        if self.state is BreakerState.HALF_OPEN:
            if not probe:
                return BreakerUpdate(self.state)
            self.probes = max(0, self.probes - 1)
            if failed:
                return self._open(policy, now)
            self.successes += 1
            if self.successes >= policy.half_open_probes:
                self._close()
            return BreakerUpdate(self.state)
        if self.state is BreakerState.OPEN:
            return BreakerUpdate(self.state)
        width = policy.window_s / WINDOW_BUCKETS
        index = int(now // width)
        slot = self.counts.setdefault(index, [0, 0])
        slot[0] += 1
        slot[1] += failed
        for old in [i for i in self.counts if i <= index - WINDOW_BUCKETS]:
            del self.counts[old]
        calls = sum(c[0] for c in self.counts.values())
        failures = sum(c[1] for c in self.counts.values())
        if calls >= policy.min_calls and failures >= policy.failure_rate * calls:
            return self._open(policy, now)
        return BreakerUpdate(self.state)

    def _open(self, policy: BreakerPolicy, now: float) -> BreakerUpdate:
        self.state, self.probes, self.successes = BreakerState.OPEN, 0, 0
        self.until = now + policy.open_s
        self.counts.clear()
        return BreakerUpdate(self.state, opened=True)


class InProcessState:
    """Breakers and buckets of one process, guarded by one lock."""

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._sweep_at = MAX_BUCKETS  # how many buckets the next sweep for full ones waits for
        self._breakers: dict[str, _Breaker] = {}

    def admit(self, tool: str, principal: str, envelope: Envelope) -> Admission:
        now = self._clock.monotonic()
        with self._lock:
            taken: list[_Bucket] = []
            wait = 0.0
            limits = envelope.rate_limit
            if limits is not None:
                specs = (
                    ("tool", limits.per_tool),
                    ("principal:" + principal, limits.per_principal),
                )
                for who, spec in specs:
                    if spec is not None:
                        key = (who, tool)
                        bucket = self._bucket(key, spec, now)
                        wait = max(wait, bucket.wait(spec, now))
                        taken.append(bucket)
            breaker = self._breakers.get(tool) if envelope.breaker else None
            if breaker is None and envelope.breaker is not None:
                breaker = self._breakers[tool] = _Breaker()
            state = breaker.state if breaker else BreakerState.CLOSED
            if wait > 0:
                return refuse(ErrorCode.RATE_LIMITED, wait, state)
            admission = ADMITTED
            if breaker is not None and envelope.breaker is not None:
                admission = breaker.admit(envelope.breaker, now)
                if not admission.allowed:
                    return admission
            for bucket in taken:
                bucket.tokens -= 1
            return admission

    def record(self, tool: str, policy: BreakerPolicy, failed: bool, probe: bool) -> BreakerUpdate:
        now = self._clock.monotonic()
        with self._lock:
            breaker = self._breakers.setdefault(tool, _Breaker())
            return breaker.record(policy, failed, probe, now)

    def breaker(self, tool: str) -> BreakerState:
        with self._lock:
            found = self._breakers.get(tool)
            return found.state if found else BreakerState.CLOSED

    def _bucket(self, key: tuple[str, str], spec: TokenBucket, now: float) -> _Bucket:
        """The bucket of `key`. Past MAX_BUCKETS only buckets full by their own rate and burst
        are forgotten: dropping one still draining would hand its principal a fresh burst, so
        those are kept even past the cap, and the next sweep waits for a tenth more buckets."""
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._sweep_at:
                for k in [k for k, b in self._buckets.items() if b.full(now)]:
                    del self._buckets[k]
                self._sweep_at = max(MAX_BUCKETS, len(self._buckets) + MAX_BUCKETS // 10)
            bucket = self._buckets[key] = _Bucket(spec, now)
        return bucket


def shared_state_from_env(environ: Mapping[str, str] | None = None, pack: str = "") -> SharedState:
    """Redis when `TETHER_REDIS_URL` is set (keys under `TETHER_REDIS_PREFIX`, then `pack`'s
    name: the domain pack whose tools they are), else in process."""
    env = os.environ if environ is None else environ
    url = env.get("TETHER_REDIS_URL", "").strip()
    if not url:
        return InProcessState()
    from tether.tools.redis_state import RedisState  # only deployments with Redis import it

    return RedisState(url, prefix=redis_prefix(env), pack=pack)
