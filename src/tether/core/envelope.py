"""A tool's safety envelope as plain values: timeout, retry, circuit breaker, rate limit, fallback.

Each value checks itself when it is built and `Envelope.check_for` checks how it combines with
the tool it is attached to, so a bad setting fails at registration with CONFIG_INVALID and a
message that names the setting, never in the middle of a run.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from random import Random
from typing import Any

from tether.core.errors import ErrorCode, TetherError

#: Codes the envelope retries unless a RetryPolicy says otherwise.
DEFAULT_RETRY_ON = frozenset(
    {
        ErrorCode.TOOL_TIMEOUT,
        ErrorCode.TOOL_UNAVAILABLE,
        ErrorCode.UPSTREAM_ERROR,
        ErrorCode.RATE_LIMITED,
    }
)
#: Codes that count as a failure of the tool itself (NOT_FOUND and friends are healthy answers).
DEFAULT_BREAKER_FAILURES = frozenset(
    {
        ErrorCode.TOOL_TIMEOUT,
        ErrorCode.TOOL_UNAVAILABLE,
        ErrorCode.UPSTREAM_ERROR,
        ErrorCode.BAD_OUTPUT,
        ErrorCode.TOOL_ERROR,
    }
)
#: Codes after which a fallback is tried.
DEFAULT_FALLBACK_ON = DEFAULT_BREAKER_FAILURES | {ErrorCode.RATE_LIMITED, ErrorCode.CIRCUIT_OPEN}

MAX_ATTEMPTS = 100


def _invalid(message: str) -> TetherError:
    return TetherError(ErrorCode.CONFIG_INVALID, message)


def _number(owner: str, name: str, value: object, *, zero_ok: bool = False) -> None:
    """`value` is a finite number, > 0 (or >= 0 when zero_ok)."""
    number = (
        float(value) if isinstance(value, int | float) and not isinstance(value, bool) else -1.0
    )
    if not math.isfinite(number) or number < 0 or (number == 0 and not zero_ok):
        bound = ">= 0" if zero_ok else "> 0"
        raise _invalid(f"{owner}.{name} must be a finite number {bound}, got {value!r}")


def _integer(owner: str, name: str, value: object, low: int, high: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise _invalid(f"{owner}.{name} must be an integer from {low} to {high}, got {value!r}")


def _codes(owner: str, name: str, value: object) -> None:
    if not isinstance(value, frozenset) or not all(isinstance(c, ErrorCode) for c in value):
        raise _invalid(f"{owner}.{name} must be a frozenset of ErrorCode values")


@dataclass(frozen=True)
class RetryPolicy:
    """Attempts, an overall deadline, and exponential backoff with full jitter between attempts."""

    max_attempts: int = 3
    # the whole call, every attempt and wait included; None: every attempt may use its timeout
    deadline_s: float | None = None
    base_delay_s: float = 0.05
    max_delay_s: float = 2.0
    retry_on: frozenset[ErrorCode] = DEFAULT_RETRY_ON

    def __post_init__(self) -> None:
        _integer("RetryPolicy", "max_attempts", self.max_attempts, 1, MAX_ATTEMPTS)
        if self.deadline_s is not None:
            _number("RetryPolicy", "deadline_s", self.deadline_s)
        _number("RetryPolicy", "base_delay_s", self.base_delay_s, zero_ok=True)
        _number("RetryPolicy", "max_delay_s", self.max_delay_s, zero_ok=True)
        if self.max_delay_s < self.base_delay_s:
            raise _invalid("RetryPolicy.max_delay_s must be >= base_delay_s")
        _codes("RetryPolicy", "retry_on", self.retry_on)
        permanent = sorted(c.value for c in self.retry_on if not c.retryable)
        if permanent:
            raise _invalid(
                f"RetryPolicy.retry_on names codes that are never retryable: {permanent}"
            )

    @staticmethod
    def never() -> RetryPolicy:
        """One attempt, no retries."""
        return RetryPolicy(max_attempts=1)

    def delay(self, attempt: int, rng: Random) -> float:
        """Seconds to wait after failed attempt number `attempt` (full jitter: 0..cap)."""
        cap = min(self.max_delay_s, self.base_delay_s * 2.0 ** min(attempt - 1, 62))
        return rng.uniform(0.0, cap)

    def to_dict(self) -> dict[str, Any]:
        return {
            "max_attempts": self.max_attempts,
            "deadline_s": self.deadline_s,
            "base_delay_s": self.base_delay_s,
            "max_delay_s": self.max_delay_s,
            "retry_on": sorted(c.value for c in self.retry_on),
        }


@dataclass(frozen=True)
class BreakerPolicy:
    """Open when the failure rate over a sliding time window passes a threshold.

    While open, calls fail fast with CIRCUIT_OPEN; after `open_s` up to `half_open_probes`
    trial calls go through, and that many successes close the breaker again.
    """

    failure_rate: float = 0.5
    window_s: float = 30.0
    min_calls: int = 10
    open_s: float = 30.0
    half_open_probes: int = 1
    failure_codes: frozenset[ErrorCode] = DEFAULT_BREAKER_FAILURES

    def __post_init__(self) -> None:
        _number("BreakerPolicy", "failure_rate", self.failure_rate)
        if self.failure_rate > 1:
            raise _invalid(f"BreakerPolicy.failure_rate must be in (0, 1], got {self.failure_rate}")
        _number("BreakerPolicy", "window_s", self.window_s)
        _integer("BreakerPolicy", "min_calls", self.min_calls, 1, 1_000_000)
        _number("BreakerPolicy", "open_s", self.open_s)
        _integer("BreakerPolicy", "half_open_probes", self.half_open_probes, 1, 1000)
        _codes("BreakerPolicy", "failure_codes", self.failure_codes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "failure_rate": self.failure_rate,
            "window_s": self.window_s,
            "min_calls": self.min_calls,
            "open_s": self.open_s,
            "half_open_probes": self.half_open_probes,
            "failure_codes": sorted(c.value for c in self.failure_codes),
        }


@dataclass(frozen=True)
class TokenBucket:
    """`rate_per_s` tokens flow in per second, up to `burst`; each call takes one."""

    rate_per_s: float
    burst: int = 1

    def __post_init__(self) -> None:
        _number("TokenBucket", "rate_per_s", self.rate_per_s)
        _integer("TokenBucket", "burst", self.burst, 1, 1_000_000)

    def to_dict(self) -> dict[str, Any]:
        return {"rate_per_s": self.rate_per_s, "burst": self.burst}


@dataclass(frozen=True)
class RateLimitPolicy:
    """A token bucket for the tool as a whole and one per principal (either may be absent)."""

    per_tool: TokenBucket | None = None
    per_principal: TokenBucket | None = None

    def __post_init__(self) -> None:
        for name in ("per_tool", "per_principal"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, TokenBucket):
                raise _invalid(f"RateLimitPolicy.{name} must be a TokenBucket or None")
        if self.per_tool is None and self.per_principal is None:
            raise _invalid("RateLimitPolicy needs per_tool, per_principal or both")

    def to_dict(self) -> dict[str, Any]:
        return {
            "per_tool": self.per_tool.to_dict() if self.per_tool else None,
            "per_principal": self.per_principal.to_dict() if self.per_principal else None,
        }


class FallbackKind(StrEnum):
    ALTERNATE = "alternate"  # call another registered tool with the same arguments
    CACHED = "cached"  # return the last good result of this call, marked stale with its age
    ESCALATE = "escalate"  # hand the run to a human


@dataclass(frozen=True)
class FallbackPolicy:
    """One step of a fallback chain; build it with `alternate`, `cached` or `escalate`."""

    kind: FallbackKind
    tool: str = ""
    max_age_s: float = 300.0
    on: frozenset[ErrorCode] = DEFAULT_FALLBACK_ON

    def __post_init__(self) -> None:
        if not isinstance(self.kind, FallbackKind):
            raise _invalid(f"FallbackPolicy.kind must be a FallbackKind, got {self.kind!r}")
        if (self.kind is FallbackKind.ALTERNATE) != bool(self.tool):
            raise _invalid("FallbackPolicy.tool names the alternate tool, and only for alternate")
        _number("FallbackPolicy", "max_age_s", self.max_age_s)
        _codes("FallbackPolicy", "on", self.on)

    @staticmethod
    def alternate(tool: str) -> FallbackPolicy:
        return FallbackPolicy(FallbackKind.ALTERNATE, tool=tool)

    @staticmethod
    def cached(max_age_s: float = 300.0) -> FallbackPolicy:
        return FallbackPolicy(FallbackKind.CACHED, max_age_s=max_age_s)

    @staticmethod
    def escalate() -> FallbackPolicy:
        return FallbackPolicy(FallbackKind.ESCALATE)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind.value, "on": sorted(c.value for c in self.on)}
        if self.kind is FallbackKind.ALTERNATE:
            out["tool"] = self.tool
        if self.kind is FallbackKind.CACHED:
            out["max_age_s"] = self.max_age_s
        return out


@dataclass(frozen=True)
class Envelope:
    """Everything that governs how one tool is called.

    `inline=True` runs the function on the calling thread instead of handing it to a worker
    thread and back. It is for functions that return promptly (in-memory or embedded-database
    lookups), where the hand-off costs more than the call: a sync function cannot be
    interrupted, so inline its timeout is measured, not enforced. A call that overruns it still
    returns its result (and so never runs twice), with `overran` in its attempt record; a call
    that never returns holds its thread, and its run is ended by another worker once past the
    run's time limit (see `tether.runtime.leases`). Coroutine functions are never inline.
    """

    timeout_s: float = 10.0  # per attempt
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    breaker: BreakerPolicy | None = None
    rate_limit: RateLimitPolicy | None = None
    fallback: tuple[FallbackPolicy, ...] = ()
    inline: bool = False

    def __post_init__(self) -> None:
        _number("Envelope", "timeout_s", self.timeout_s)
        if not isinstance(self.inline, bool):
            raise _invalid("Envelope.inline must be True or False")
        checks: Iterable[tuple[str, object, type | tuple[type, ...]]] = (
            ("retry", self.retry, RetryPolicy),
            ("breaker", self.breaker, (BreakerPolicy, type(None))),
            ("rate_limit", self.rate_limit, (RateLimitPolicy, type(None))),
            ("fallback", self.fallback, tuple),
        )
        for name, value, kind in checks:
            if not isinstance(value, kind):
                raise _invalid(f"Envelope.{name} has the wrong type: {type(value).__name__}")
        if not all(isinstance(f, FallbackPolicy) for f in self.fallback):
            raise _invalid("Envelope.fallback must be a tuple of FallbackPolicy values")
        kinds = [f.kind for f in self.fallback]
        if FallbackKind.ESCALATE in kinds[:-1]:
            raise _invalid("Envelope.fallback: escalate ends the chain, so it must come last")
        if kinds.count(FallbackKind.CACHED) > 1 or kinds.count(FallbackKind.ESCALATE) > 1:
            raise _invalid("Envelope.fallback: cached and escalate may each appear once")
        deadline = self.retry.deadline_s
        if deadline is not None and deadline < self.timeout_s:
            raise _invalid(
                f"Envelope: retry.deadline_s ({deadline:g} s) is shorter than one attempt's "
                f"timeout_s ({self.timeout_s:g} s)"
            )

    @property
    def deadline_s(self) -> float:
        """The overall deadline of one call: the retry policy's, else room for every attempt."""
        if self.retry.deadline_s is not None:
            return self.retry.deadline_s
        attempts = self.retry.max_attempts
        return self.timeout_s * attempts + self.retry.max_delay_s * (attempts - 1)

    @staticmethod
    def default(
        *, writes: bool, idempotent: bool, timeout_s: float = 10.0, inline: bool = False
    ) -> Envelope:
        """The envelope a tool gets when it names none: writes retry only if they are idempotent."""
        retry = RetryPolicy.never() if writes and not idempotent else RetryPolicy()
        return Envelope(timeout_s=timeout_s, retry=retry, inline=inline)

    def check_for(self, tool: str, *, writes: bool, idempotent: bool) -> None:
        """Settings that conflict with the tool's risk class; raises CONFIG_INVALID."""
        if writes and not idempotent and self.retry.max_attempts > 1:
            raise _invalid(
                f"tool {tool}: retry.max_attempts={self.retry.max_attempts} on a tool with side "
                "effects that does not honour idempotency keys could repeat the effect; make the "
                "tool honour the key and register it with idempotent=True, or use "
                "RetryPolicy.never()"
            )
        for step in self.fallback:
            if writes and step.kind is not FallbackKind.ESCALATE:
                raise _invalid(
                    f"tool {tool}: a tool with side effects may only fall back to escalate "
                    f"({step.kind.value} could hide or repeat a side effect)"
                )
            if step.kind is FallbackKind.ALTERNATE and step.tool == tool:
                raise _invalid(f"tool {tool}: the alternate tool cannot be the tool itself")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "timeout_s": self.timeout_s,
            "retry": self.retry.to_dict(),
            "breaker": self.breaker.to_dict() if self.breaker else None,
            "rate_limit": self.rate_limit.to_dict() if self.rate_limit else None,
            "fallback": [f.to_dict() for f in self.fallback],
        }
        if self.inline:  # only when set, so the configs stored before it read the same
            out["inline"] = True
        return out
