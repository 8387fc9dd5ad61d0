"""The envelope around one tool call: timeouts, retries, classification, breaker, limits,
fallbacks. Every failure here is caused for real (a tool that hangs, raises, lies about its
output); only the clock of the breaker and rate-limit tests is a manual one."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tether.core.clock import ManualClock
from tether.core.envelope import (
    BreakerPolicy,
    Envelope,
    FallbackPolicy,
    RateLimitPolicy,
    RetryPolicy,
    TokenBucket,
)
from tether.core.errors import ErrorCode, TetherError
from tether.tools import make_tool
from tether.tools.envelope import EnvelopeExecutor
from tether.tools.execute import CallContext, current_idempotency_key
from tether.tools.registry import Tool
from tether.tools.shared_state import BreakerState, InProcessState
from tether.tools.workers import WorkerPool

NEVER = RetryPolicy.never()


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Set at the end of a test, so tools that hang 'forever' finally return."""
    event = threading.Event()
    yield event
    event.set()


class Flaky:
    """Fails with the given errors in order, then answers."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self, order_id: str) -> dict[str, str]:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return {"order_id": order_id}


def _tool(fn: Any, envelope: Envelope | None = None, name: str = "lookup") -> Tool:
    def lookup(order_id: str) -> dict[str, str]:
        return fn(order_id)  # type: ignore[no-any-return]

    return make_tool(lookup, name=name, envelope=envelope)


def test_a_sync_tool_that_hangs_is_abandoned_at_its_timeout(release: threading.Event) -> None:
    pool = WorkerPool()
    executor = EnvelopeExecutor(InProcessState(), pool=pool)
    tool = _tool(lambda _: release.wait(), Envelope(timeout_s=0.1, retry=NEVER))
    started = time.monotonic()
    outcome = executor.execute(tool, {"order_id": "#1"})
    assert time.monotonic() - started < 1.0
    assert outcome.code is ErrorCode.TOOL_TIMEOUT and "0.1 s" in outcome.message
    assert outcome.observation()["error"]["retryable"] is True
    assert pool.abandoned == 1
    release.set()
    assert pool.wait_idle(2.0) and pool.abandoned == 0


@pytest.mark.parametrize(
    ("set_up_s", "said"),
    [
        (0.005, "within 0.1 s"),  # a busy machine's set-up: the tool's own timeout is named
        (0.03, "within 0.07 s"),  # a deadline that left less: the limit the call really had
    ],
)
def test_a_timed_out_call_names_the_limit_it_had(
    release: threading.Event, set_up_s: float, said: str
) -> None:
    # each reading of the clock moves it on, as a call's set-up does on a loaded machine
    clock = ManualClock(tick=set_up_s)
    executor = EnvelopeExecutor(InProcessState(), clock=clock, pool=WorkerPool())
    tool = _tool(lambda _: release.wait(), Envelope(timeout_s=0.1, retry=NEVER))
    outcome = executor.execute(tool, {"order_id": "#1"})
    release.set()
    assert outcome.code is ErrorCode.TOOL_TIMEOUT
    assert said in outcome.message, outcome.message


def test_an_async_tool_is_cancelled_at_its_timeout() -> None:
    cancelled = threading.Event()

    async def slow(order_id: str) -> str:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return order_id

    async def quick(order_id: str) -> str:
        await asyncio.sleep(0)
        return order_id.upper()

    executor = EnvelopeExecutor(InProcessState())
    envelope = Envelope(timeout_s=0.1, retry=NEVER)
    outcome = executor.execute(make_tool(slow, envelope=envelope), {"order_id": "a"})
    assert outcome.code is ErrorCode.TOOL_TIMEOUT
    assert cancelled.wait(1.0)
    assert executor.execute(make_tool(quick), {"order_id": "a"}).output == "A"


def test_retryable_failures_are_retried_with_full_jitter_backoff() -> None:
    sleeps: list[float] = []
    executor = EnvelopeExecutor(InProcessState(), sleep=sleeps.append, rng=random.Random(3))
    flaky = Flaky(
        TetherError(ErrorCode.UPSTREAM_ERROR, "502 from the order service"),
        ConnectionError("refused"),
    )
    retry = RetryPolicy(max_attempts=4, base_delay_s=0.1, max_delay_s=0.15)
    outcome = executor.execute(_tool(flaky, Envelope(retry=retry)), {"order_id": "#1"})
    assert outcome.ok and outcome.output == {"order_id": "#1"} and flaky.calls == 3
    assert [a["code"] for a in outcome.attempts] == ["UPSTREAM_ERROR", "TOOL_UNAVAILABLE", None]
    assert [a["attempt"] for a in outcome.attempts] == [1, 2, 3]
    assert len(sleeps) == 2 and 0 <= sleeps[0] <= 0.1 and 0 <= sleeps[1] <= 0.15
    assert sleeps == [random.Random(3).uniform(0, 0.1), pytest.approx(sleeps[1])]


def test_errors_the_model_must_handle_are_not_retried() -> None:
    flaky = Flaky(TetherError(ErrorCode.NOT_FOUND, "no such order"))
    outcome = EnvelopeExecutor(InProcessState()).execute(_tool(flaky), {"order_id": "#9"})
    assert outcome.code is ErrorCode.NOT_FOUND and flaky.calls == 1
    assert outcome.observation() == {
        "ok": False,
        "error": {"code": "NOT_FOUND", "message": "no such order", "retryable": False},
    }


def test_the_overall_deadline_stops_retries(release: threading.Event) -> None:
    calls: list[float] = []

    def hang(_: str) -> None:
        calls.append(time.monotonic())
        release.wait()

    retry = RetryPolicy(max_attempts=50, deadline_s=0.35, base_delay_s=0.0, max_delay_s=0.0)
    executor = EnvelopeExecutor(InProcessState(), pool=WorkerPool())
    started = time.monotonic()
    outcome = executor.execute(_tool(hang, Envelope(timeout_s=0.1, retry=retry)), {"order_id": "x"})
    elapsed = time.monotonic() - started
    assert outcome.code is ErrorCode.TOOL_TIMEOUT and "deadline" in outcome.hint
    assert 2 <= len(calls) <= 4 and elapsed < 0.8


class Interrupt(BaseException):
    """A BaseException subclass a careless library might raise."""


@pytest.mark.parametrize(
    "raised", [KeyboardInterrupt(), SystemExit(3), GeneratorExit(), Interrupt("stop")]
)
def test_base_exceptions_from_tools_are_classified_not_propagated(raised: BaseException) -> None:
    flaky = Flaky(raised, raised)
    outcome = EnvelopeExecutor(InProcessState()).execute(_tool(flaky), {"order_id": "#1"})
    assert outcome.code is ErrorCode.TOOL_ERROR and flaky.calls == 1  # not retryable
    assert type(raised).__name__ in outcome.message
    assert "Traceback" not in str(outcome.observation())


@pytest.mark.parametrize(
    ("output", "fragment"),
    [
        ({1, 2}, "not JSON"),
        ({"order_id": float("nan")}, "not JSON"),
        (["#1"], "fails its schema"),
        ({"order_id": 7}, "fails its schema"),
    ],
)
def test_output_that_is_not_json_or_breaks_the_schema_is_bad_output(
    output: Any, fragment: str
) -> None:
    outcome = EnvelopeExecutor(InProcessState()).execute(_tool(lambda _: output), {"order_id": "1"})
    assert outcome.code is ErrorCode.BAD_OUTPUT and fragment in outcome.message
    assert len(outcome.attempts) == 1


def test_arguments_that_fail_the_schema_never_reach_the_tool() -> None:
    flaky = Flaky()
    executor = EnvelopeExecutor(InProcessState())
    for arguments in ({"order_id": 5}, {}, ["#1"]):
        outcome = executor.execute(_tool(flaky), arguments)  # type: ignore[arg-type]
        assert outcome.code is ErrorCode.INVALID_ARGUMENTS and not outcome.attempts
    assert flaky.calls == 0


def test_the_idempotency_key_reaches_sync_and_async_tools() -> None:
    def sync_key(order_id: str) -> str | None:
        return current_idempotency_key()

    async def async_key(order_id: str) -> str | None:
        return current_idempotency_key()

    executor = EnvelopeExecutor(InProcessState())
    call = CallContext(run_id="run_1", idempotency_key="idem_abc")
    for fn in (sync_key, async_key):
        assert executor.execute(make_tool(fn), {"order_id": "#1"}, call).output == "idem_abc"
        assert executor.execute(make_tool(fn), {"order_id": "#1"}).output is None
    assert current_idempotency_key() is None


def test_the_breaker_opens_fails_fast_then_probes_and_closes() -> None:
    clock = ManualClock()
    executor = EnvelopeExecutor(InProcessState(clock), clock=clock)
    policy = BreakerPolicy(failure_rate=0.5, window_s=10, min_calls=4, open_s=5)
    healthy = [False]

    def upstream(order_id: str) -> dict[str, str]:
        if not healthy[0]:
            raise TetherError(ErrorCode.UPSTREAM_ERROR, "down")
        return {"order_id": order_id}

    flaky = Flaky()
    flaky.__call__ = upstream  # type: ignore[method-assign]
    counted: list[str] = []

    def lookup(order_id: str) -> dict[str, str]:
        counted.append(order_id)
        return upstream(order_id)

    tool = make_tool(lookup, envelope=Envelope(retry=NEVER, breaker=policy))
    outcomes = [executor.execute(tool, {"order_id": str(i)}) for i in range(4)]
    assert [o.code for o in outcomes] == [ErrorCode.UPSTREAM_ERROR] * 4
    assert outcomes[-1].attempts[0].get("breaker_opened") is True
    assert executor.state.breaker("lookup") is BreakerState.OPEN

    refused = executor.execute(tool, {"order_id": "5"})
    assert refused.code is ErrorCode.CIRCUIT_OPEN and len(counted) == 4  # not executed
    assert refused.attempts[0]["breaker"] == "open" and "5.0 s" in refused.hint

    clock.advance(5.1)
    probe = executor.execute(tool, {"order_id": "6"})  # still failing: opens again
    assert probe.code is ErrorCode.UPSTREAM_ERROR and probe.attempts[0]["breaker"] == "half_open"
    assert executor.state.breaker("lookup") is BreakerState.OPEN

    clock.advance(5.1)
    healthy[0] = True
    assert executor.execute(tool, {"order_id": "7"}).ok
    assert executor.state.breaker("lookup") is BreakerState.CLOSED
    assert executor.execute(tool, {"order_id": "8"}).attempts[0]["breaker"] == "closed"


def test_only_failures_of_the_tool_count_against_the_breaker() -> None:
    executor = EnvelopeExecutor(InProcessState(ManualClock()))
    policy = BreakerPolicy(failure_rate=0.5, window_s=10, min_calls=2, open_s=5)
    flaky = Flaky(*[TetherError(ErrorCode.NOT_FOUND, "no") for _ in range(5)])
    tool = _tool(flaky, Envelope(retry=NEVER, breaker=policy))
    for _ in range(5):
        assert executor.execute(tool, {"order_id": "x"}).code is ErrorCode.NOT_FOUND
    assert executor.state.breaker("lookup") is BreakerState.CLOSED


def test_rate_limits_per_tool_and_per_principal() -> None:
    clock = ManualClock()
    executor = EnvelopeExecutor(InProcessState(clock), clock=clock)
    per_tool = Envelope(
        retry=NEVER, rate_limit=RateLimitPolicy(per_tool=TokenBucket(rate_per_s=1, burst=2))
    )
    tool = _tool(Flaky(), per_tool)
    codes = [executor.execute(tool, {"order_id": "x"}).code for _ in range(3)]
    assert codes == [None, None, ErrorCode.RATE_LIMITED]
    limited = executor.execute(tool, {"order_id": "x"})
    assert limited.hint == "try again in 1.00 s" and limited.attempts[0]["latency_ms"] == 0
    clock.advance(1.0)
    assert executor.execute(tool, {"order_id": "x"}).ok

    per_principal = Envelope(
        retry=NEVER, rate_limit=RateLimitPolicy(per_principal=TokenBucket(rate_per_s=1, burst=1))
    )
    other = _tool(Flaky(), per_principal, name="other")
    alice, bob = CallContext(principal_id="alice"), CallContext(principal_id="bob")
    assert executor.execute(other, {"order_id": "x"}, alice).ok
    assert executor.execute(other, {"order_id": "x"}, alice).code is ErrorCode.RATE_LIMITED
    assert executor.execute(other, {"order_id": "x"}, bob).ok


def test_a_rate_limited_call_waits_for_its_token_when_the_deadline_allows() -> None:
    clock = ManualClock()
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock.advance(seconds)

    executor = EnvelopeExecutor(InProcessState(clock), clock=clock, sleep=sleep)
    limit = RateLimitPolicy(per_tool=TokenBucket(rate_per_s=4, burst=1))
    tool = _tool(Flaky(), Envelope(rate_limit=limit, retry=RetryPolicy(base_delay_s=0.0)))
    assert executor.execute(tool, {"order_id": "x"}).ok
    second = executor.execute(tool, {"order_id": "x"})
    assert second.ok and waits == [pytest.approx(0.25)]
    assert [a["code"] for a in second.attempts] == ["RATE_LIMITED", None]


def test_fallback_to_an_alternate_tool() -> None:
    executor = EnvelopeExecutor(InProcessState(), sleep=lambda _: None)
    envelope = Envelope(fallback=(FallbackPolicy.alternate("replica"),))
    primary = _tool(Flaky(*[TetherError(ErrorCode.TOOL_UNAVAILABLE, "down")] * 3), envelope)
    replica = _tool(lambda order_id: {"order_id": order_id + "@replica"}, name="replica")
    granted = CallContext(resolve={"replica": replica}.get)
    outcome = executor.execute(primary, {"order_id": "#1"}, granted)
    assert outcome.ok and outcome.output == {"order_id": "#1@replica"}
    assert outcome.fallback == "alternate:replica"
    assert [a.get("tool") for a in outcome.attempts] == ["lookup"] * 3 + ["replica"] * 2
    # an alternate the run is not granted is not used
    again = _tool(Flaky(*[TetherError(ErrorCode.TOOL_UNAVAILABLE, "down")] * 3), envelope)
    refused = executor.execute(again, {"order_id": "#1"}, CallContext(resolve=lambda _: None))
    assert refused.code is ErrorCode.TOOL_UNAVAILABLE and not refused.fallback


def test_fallback_to_the_last_good_result_marked_stale() -> None:
    clock = ManualClock()
    executor = EnvelopeExecutor(InProcessState(clock), clock=clock)
    envelope = Envelope(retry=NEVER, fallback=(FallbackPolicy.cached(max_age_s=60),))
    answers: list[Any] = [{"order_id": "#1", "status": "pending"}]

    def lookup(order_id: str) -> dict[str, str]:
        if answers:
            return answers.pop()  # type: ignore[no-any-return]
        raise TimeoutError("read timed out")

    tool = make_tool(lookup, envelope=envelope)
    alice = CallContext(principal_id="alice")
    assert executor.execute(tool, {"order_id": "#1"}, alice).ok
    clock.advance(12.5)
    stale = executor.execute(tool, {"order_id": "#1"}, alice)
    assert stale.ok and stale.fallback == "cached" and stale.stale_s == 12.5
    assert stale.observation() == {
        "ok": True,
        "output": {"order_id": "#1", "status": "pending"},
        "stale": True,
        "age_s": 12.5,
    }
    # never another principal's result, never one older than max_age_s
    bob = executor.execute(tool, {"order_id": "#1"}, CallContext(principal_id="bob"))
    assert bob.code is ErrorCode.TOOL_TIMEOUT
    clock.advance(50)
    assert executor.execute(tool, {"order_id": "#1"}, alice).code is ErrorCode.TOOL_TIMEOUT


def test_fallback_to_escalation_and_attempt_reports() -> None:
    seen: list[dict[str, Any]] = []
    executor = EnvelopeExecutor(InProcessState(), sleep=lambda _: None)
    envelope = Envelope(retry=RetryPolicy(max_attempts=2), fallback=(FallbackPolicy.escalate(),))
    tool = _tool(Flaky(*[TetherError(ErrorCode.UPSTREAM_ERROR, "down")] * 2), envelope)
    outcome = executor.execute(tool, {"order_id": "#1"}, CallContext(on_attempt=seen.append))
    assert outcome.code is ErrorCode.UPSTREAM_ERROR and outcome.escalate
    assert outcome.fallback == "escalate" and [a["attempt"] for a in seen] == [1, 2]


def test_too_many_hung_calls_stop_new_ones_from_starting(release: threading.Event) -> None:
    executor = EnvelopeExecutor(InProcessState(), pool=WorkerPool(max_abandoned=1))
    started: list[str] = []

    def hang(order_id: str) -> None:
        started.append(order_id)
        release.wait()

    tool = _tool(hang, Envelope(timeout_s=0.05, retry=NEVER))
    assert executor.execute(tool, {"order_id": "a"}).code is ErrorCode.TOOL_TIMEOUT
    refused = executor.execute(tool, {"order_id": "b"})
    assert refused.code is ErrorCode.TOOL_UNAVAILABLE and "still hung" in refused.message
    assert started == ["a"]


def test_a_probe_that_never_reports_back_does_not_hold_the_breaker_half_open() -> None:
    clock = ManualClock()
    state = InProcessState(clock)
    envelope = Envelope(breaker=BreakerPolicy(min_calls=1, open_s=10, failure_rate=1.0))
    assert envelope.breaker is not None
    state.record("lookup", envelope.breaker, failed=True, probe=False)
    assert state.breaker("lookup") is BreakerState.OPEN
    clock.advance(10)
    probe = state.admit("lookup", "alice", envelope)
    assert probe.allowed and probe.probe  # its process dies: no result is ever recorded
    assert state.admit("lookup", "alice", envelope).code is ErrorCode.CIRCUIT_OPEN
    clock.advance(10)
    assert state.admit("lookup", "alice", envelope).probe
