"""The safety envelope every tool call runs in.

One call goes: validate the arguments → rate limit → circuit breaker → attempt with a timeout
(sync tools on a worker thread that is abandoned at the deadline, coroutines cancelled) →
classify → retry with backoff or fall back → check the output against the tool's schema.
A write whose attempt went out and got no answer (a timeout, a dropped connection) may have
taken effect: it is tried again only if the tool honours the idempotency key and has one, and
the outcome is marked `uncertain` for the runtime to reconcile.
Every attempt is written down (number, tool, code, latency, breaker state), so a run's record
shows exactly what happened. Nothing a tool does, BaseException included, escapes as an
exception: it becomes a `ToolOutcome` with a stable code.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from tether.core.clock import Clock, SystemClock
from tether.core.envelope import FallbackKind, FallbackPolicy
from tether.core.errors import ErrorCode, TetherError
from tether.core.types import RiskClass
from tether.tools.execute import (
    ALTERNATE,
    NO_CALL_CONTEXT,
    CallContext,
    ToolOutcome,
    call_with_key,
    canonical_json,
    check_output,
    classify,
    effect_uncertain,
    retryable_override,
)
from tether.tools.registry import Tool
from tether.tools.shared_state import ADMITTED, SharedState, shared_state_from_env
from tether.tools.workers import PoolExhausted, TimedOut, WorkerPool, run_inline, shared_pool

logger = logging.getLogger("tether.tools")

Attempts = list[dict[str, Any]]

# how much of a timeout a call's own set-up (validation, admission) may take on a busy machine
# before a timed-out call reports the shortened limit rather than the tool's timeout
_SET_UP_S = 0.01


class _Result:
    """One attempt's (or one call's) result before it becomes a ToolOutcome."""

    __slots__ = ("code", "hint", "message", "output", "retry_after_s", "retryable", "uncertain")

    def __init__(
        self,
        code: ErrorCode | None,
        message: str = "",
        output: Any = None,
        hint: str = "",
        retry_after_s: float = 0.0,
        retryable: bool | None = None,
        uncertain: bool = False,
    ) -> None:
        self.code, self.message, self.output, self.hint = code, message, output, hint
        self.retry_after_s, self.retryable, self.uncertain = retry_after_s, retryable, uncertain


class LastGood:
    """The last good result of each read call, per principal, for the `cached` fallback."""

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._entries: OrderedDict[tuple[str, str, str], tuple[Any, float]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, key: tuple[str, str, str], output: Any, now: float) -> None:
        with self._lock:
            self._entries[key] = (output, now)
            self._entries.move_to_end(key)
            if len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def get(self, key: tuple[str, str, str]) -> tuple[Any, float] | None:
        with self._lock:
            return self._entries.get(key)


class EnvelopeExecutor:
    """Runs tools inside their envelopes; the runtime's default executor.

    `state` holds breakers and rate-limit buckets (Redis when TETHER_REDIS_URL is set, else
    this executor's own); share one executor, or one Redis, to share them. `clock`, `sleep` and
    `rng` (backoff jitter) are injectable so tests and replays are deterministic.
    """

    def __init__(
        self,
        state: SharedState | None = None,
        *,
        clock: Clock | None = None,
        sleep: Callable[[float], None] | None = None,
        rng: random.Random | None = None,
        pool: WorkerPool | None = None,
        cache_size: int = 4096,
    ) -> None:
        self.state = state if state is not None else shared_state_from_env()
        self._clock = clock or SystemClock()
        self._sleep = sleep or time.sleep
        self._rng = rng or random.Random()
        self._pool = pool or shared_pool()
        self._cache = LastGood(cache_size)

    def execute(
        self, tool: Tool, arguments: Mapping[str, Any], call: CallContext = NO_CALL_CONTEXT
    ) -> ToolOutcome:
        """Run one call through the whole envelope; never raises."""
        start = self._clock.monotonic()
        attempts: Attempts = []
        try:
            args = tool.bind(arguments)
        except TetherError as exc:
            result = _Result(exc.code, exc.message)
        else:
            result = self._call(tool, args, call, attempts, start)
        fallback, stale, escalate = "", None, False
        chain = tool.spec.envelope.fallback
        if result.code is None and chain:
            if any(f.kind is FallbackKind.CACHED for f in chain):
                self._cache.put(_cache_key(tool, arguments, call), result.output, start)
        elif result.code is not None and chain and attempts:
            result, fallback, stale, escalate = self._fall_back(
                tool, arguments, call, result, attempts
            )
        return ToolOutcome(
            ok=result.code is None,
            output=result.output,
            code=result.code,
            message=result.message,
            latency_ms=(self._clock.monotonic() - start) * 1000,
            attempts=tuple(attempts),
            hint=result.hint,
            escalate=escalate,
            fallback=fallback,
            stale_s=stale,
            idempotency_key=call.idempotency_key,
            retryable=result.retryable,
            uncertain=result.uncertain,
        )

    # -- attempts and retries ------------------------------------------------------------------

    def _call(
        self,
        tool: Tool,
        args: Mapping[str, Any],
        call: CallContext,
        attempts: Attempts,
        start: float,
    ) -> _Result:
        env = tool.spec.envelope
        retry, breaker = env.retry, env.breaker
        deadline = start + env.deadline_s
        guarded = breaker is not None or env.rate_limit is not None
        writes = tool.spec.risk is not RiskClass.READ
        # another attempt at a write that may have acted is safe only under the same key
        repeatable = not writes or (tool.spec.idempotent and call.idempotency_key is not None)
        doubt = False  # an earlier attempt may have acted, whatever the later ones say
        number = 0
        while True:
            number += 1
            admission = self.state.admit(tool.name, call.principal_id, env) if guarded else ADMITTED
            began = self._clock.monotonic()
            limit = max(min(env.timeout_s, deadline - began), 1e-3)
            if admission.allowed:
                result = self._attempt(tool, args, call, limit)
            else:
                assert admission.code is not None
                result = _refused(tool, admission.code, admission.retry_after_s)
            took = self._clock.monotonic() - began
            record: dict[str, Any] = {
                "attempt": number,
                "tool": tool.name,
                "code": result.code.value if result.code else None,
                "latency_ms": round(took * 1000, 3),
                "breaker": admission.breaker.value,
            }
            if env.inline and admission.allowed and took > limit:  # measured, not enforced
                record["overran"] = True
                logger.warning(
                    "tool %s ran inline for %.0f ms, past its %g s timeout",
                    tool.name, took * 1000, limit,
                )  # fmt: skip
            if admission.allowed and breaker is not None:
                failed = result.code in breaker.failure_codes
                update = self.state.record(tool.name, breaker, failed, admission.probe)
                if update.state is not admission.breaker:
                    record["breaker_after"] = update.state.value
                if update.opened:
                    record["breaker_opened"] = True
            if admission.degraded:
                record["shared_state"] = "unreachable"
            attempts.append(record)
            if call.on_attempt is not None:
                call.on_attempt(record)
            code = result.code
            doubt = doubt or (writes and result.uncertain)
            result.uncertain = doubt and code is not None
            # a tool's retryable=False stops retries; True never adds codes the policy omits
            stop = code is None or code not in retry.retry_on or result.retryable is False
            if stop or number >= retry.max_attempts or (result.uncertain and not repeatable):
                return _finish(result, number)
            wait = max(retry.delay(number, self._rng), result.retry_after_s)
            if self._clock.monotonic() + wait >= deadline:
                return _finish(result, number, deadline_hit=True)
            record["retry_in_ms"] = round(wait * 1000, 3)
            self._sleep(wait)

    def _attempt(
        self, tool: Tool, args: Mapping[str, Any], call: CallContext, timeout: float
    ) -> _Result:
        fn, key = tool.fn, call.idempotency_key

        def job() -> Any:
            return call_with_key(fn, args, key, timeout)

        done = run_inline(job) if tool.spec.envelope.inline else self._pool.run(job, timeout)
        if isinstance(done, TimedOut):
            # the limit, not the little the call's own set-up took from it: 0.1 s, not 0.0999 s
            # (nor 0.098 s on a busy machine); a limit the call's deadline cut short is its own
            limit = tool.spec.envelope.timeout_s
            said = limit if abs(limit - timeout) < _SET_UP_S else timeout
            message = f"{tool.name} did not answer within {round(said, 3):g} s"
            return _Result(ErrorCode.TOOL_TIMEOUT, message, uncertain=True)
        if isinstance(done, PoolExhausted):
            message = f"{tool.name} was not started: too many earlier tool calls are still hung"
            return _Result(ErrorCode.TOOL_UNAVAILABLE, message)
        if done.error is not None:
            code, message = classify(done.error, tool.name)
            retry_after = 0.0
            if isinstance(done.error, TetherError):
                retry_after = _seconds(done.error.details.get("retry_after_s"))
            return _Result(
                code,
                message,
                retry_after_s=retry_after,
                retryable=retryable_override(done.error),
                uncertain=effect_uncertain(done.error),
            )
        output = tool.as_declared(done.value)
        problem = check_output(tool, output)
        if problem is not None:
            return _Result(*problem)
        return _Result(None, output=output)

    # -- fallbacks -----------------------------------------------------------------------------

    def _fall_back(
        self,
        tool: Tool,
        arguments: Mapping[str, Any],
        call: CallContext,
        failed: _Result,
        attempts: Attempts,
    ) -> tuple[_Result, str, float | None, bool]:
        """Walk the fallback chain: (result, which fallback, stale age, escalate)."""
        for step in tool.spec.envelope.fallback:
            if failed.code not in step.on:
                continue
            if step.kind is FallbackKind.ALTERNATE:
                result = self._alternate(step, arguments, call, attempts)
                if result is not None:
                    return result, f"{ALTERNATE}{step.tool}", None, False
            elif step.kind is FallbackKind.CACHED:
                hit = self._cache.get(_cache_key(tool, arguments, call))
                age = self._clock.monotonic() - hit[1] if hit else 0.0
                used = hit is not None and age <= step.max_age_s
                attempts.append({"fallback": "cached", "ok": used, "age_s": round(age, 3)})
                if hit is not None and used:
                    return _Result(None, output=hit[0]), "cached", round(age, 3), False
            else:
                attempts.append({"fallback": "escalate", "code": _value(failed.code)})
                return failed, "escalate", None, True
        return failed, "", None, False

    def _alternate(
        self,
        step: FallbackPolicy,
        arguments: Mapping[str, Any],
        call: CallContext,
        attempts: Attempts,
    ) -> _Result | None:
        alternate = call.resolve(step.tool) if call.resolve is not None else None
        if alternate is None:
            attempts.append({"fallback": "alternate", "tool": step.tool, "ok": False})
            return None
        try:
            args = alternate.bind(arguments)
        except TetherError as exc:
            attempts.append({"fallback": "alternate", "tool": step.tool, "code": exc.code.value})
            return None
        attempts.append({"fallback": "alternate", "tool": step.tool})
        result = self._call(alternate, args, call, attempts, self._clock.monotonic())
        return result if result.code is None else None


def _cache_key(tool: Tool, arguments: Mapping[str, Any], call: CallContext) -> tuple[str, str, str]:
    # per principal, so one customer's cached result is never shown to another
    return call.principal_id, tool.name, canonical_json(dict(arguments))


def _value(code: ErrorCode | None) -> str | None:
    return code.value if code else None


def _seconds(value: object) -> float:
    return float(value) if isinstance(value, int | float) and value > 0 else 0.0


def _refused(tool: Tool, code: ErrorCode, wait_s: float) -> _Result:
    if code is ErrorCode.RATE_LIMITED:
        message = f"{tool.name} is over its rate limit"
        hint = f"try again in {wait_s:.2f} s"
    else:
        message = f"{tool.name} is failing and its circuit breaker is open"
        hint = f"the tool will be tried again in {wait_s:.1f} s; use another way or hand off"
    return _Result(code, message, hint=hint, retry_after_s=wait_s)


def _finish(result: _Result, attempts: int, deadline_hit: bool = False) -> _Result:
    """Add what the model should know once the envelope gives up."""
    if result.code is None:
        return result
    if result.uncertain:  # a write that may have acted: trying again could repeat it
        result.retryable = False
        result.hint = "it may have taken effect; do not try it again until that is checked"
        return result
    if result.hint:
        return result
    if not (result.code.retryable if result.retryable is None else result.retryable):
        return result
    why = "the call's deadline was reached" if deadline_hit else f"{attempts} attempt(s) failed"
    result.hint = f"{why}; try again later, another way, or hand off to a human"
    return result
