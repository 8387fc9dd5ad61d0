"""Other principals' traffic never refills a principal's rate-limit bucket.

The process's own buckets (the default, and what decides while Redis is unreachable) are
swept past MAX_BUCKETS, and a sweep forgets only buckets full by their own rate and burst: a
principal that has used part of its burst keeps what is left of it, whatever limit the tool
that triggered the sweep has, while buckets that have refilled are forgotten so idle
principals cost no memory.
"""

from __future__ import annotations

from typing import Any

from tether.core.clock import ManualClock
from tether.core.envelope import Envelope, RateLimitPolicy, RetryPolicy, TokenBucket
from tether.core.errors import ErrorCode
from tether.tools import make_tool
from tether.tools.envelope import EnvelopeExecutor
from tether.tools.execute import CallContext
from tether.tools.shared_state import MAX_BUCKETS, InProcessState

# two calls, then one more every 1000 s: nothing refills within the test
LIMIT = RateLimitPolicy(per_principal=TokenBucket(rate_per_s=0.001, burst=2))


def test_other_principals_traffic_does_not_refill_a_principals_bucket() -> None:
    executed: list[str] = []

    def quote(sku: str) -> dict[str, Any]:
        executed.append(sku)
        return {"sku": sku}

    tool = make_tool(
        quote, envelope=Envelope(timeout_s=1.0, retry=RetryPolicy.never(), rate_limit=LIMIT)
    )
    executor = EnvelopeExecutor(InProcessState(), sleep=lambda _: None)
    victim = CallContext(principal_id="mallory")

    def call(ctx: CallContext) -> ErrorCode | None:
        return executor.execute(tool, {"sku": "A"}, ctx).code

    assert call(victim) is None  # one of mallory's two tokens used
    for n in range(MAX_BUCKETS + 1):  # the rest of the deployment's customers, one call each
        assert call(CallContext(principal_id=f"customer-{n}")) is None
    admitted = [call(victim) for _ in range(3)].count(None)
    assert admitted == 1, f"mallory made {1 + admitted} calls against a burst of 2"


def test_a_sweep_judges_each_bucket_by_its_own_limit_and_forgets_the_full_ones() -> None:
    clock = ManualClock()
    state = InProcessState(clock)
    slow = Envelope(rate_limit=RateLimitPolicy(per_principal=TokenBucket(0.001, 2)))
    fast = Envelope(rate_limit=RateLimitPolicy(per_principal=TokenBucket(1000.0, 2)))
    assert state.admit("refund", "mallory", slow).allowed  # one of two tokens left for 1000 s
    for n in range(MAX_BUCKETS - 1):  # the cap reached, no sweep yet
        assert state.admit("quote", f"customer-{n}", fast).allowed
    clock.advance(1.0)  # every fast bucket has refilled; mallory's has not
    assert state.admit("quote", "newcomer", fast).allowed  # the sweep
    assert len(state._buckets) == 2  # mallory's and the newcomer's
    assert state.admit("refund", "mallory", slow).allowed
    assert not state.admit("refund", "mallory", slow).allowed
