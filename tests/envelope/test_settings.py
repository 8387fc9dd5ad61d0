"""Envelope settings are typed values checked at registration: bad ones fail with CONFIG_INVALID."""

from __future__ import annotations

import math
from typing import Any

import pytest

from tether.core.envelope import (
    BreakerPolicy,
    Envelope,
    FallbackKind,
    FallbackPolicy,
    RateLimitPolicy,
    RetryPolicy,
    TokenBucket,
)
from tether.core.errors import ErrorCode, TetherError
from tether.core.types import RiskClass
from tether.tools import ToolRegistry, make_tool, tool


def lookup(order_id: str) -> dict[str, str]:
    """Look an order up."""
    return {"order_id": order_id}


def other_lookup(order_id: str) -> dict[str, str]:
    return {"order_id": order_id, "source": "replica"}


def cancel(order_id: str) -> dict[str, str]:
    return {"order_id": order_id, "status": "cancelled"}


def _config_error(build: Any) -> str:
    with pytest.raises(TetherError) as caught:
        build()
    assert caught.value.code is ErrorCode.CONFIG_INVALID
    return caught.value.message


@pytest.mark.parametrize(
    ("build", "fragment"),
    [
        (lambda: RetryPolicy(max_attempts=0), "max_attempts"),
        (lambda: RetryPolicy(max_attempts=1.5), "max_attempts"),
        (lambda: RetryPolicy(deadline_s=-1), "deadline_s"),
        (lambda: RetryPolicy(base_delay_s=math.nan), "base_delay_s"),
        (lambda: RetryPolicy(base_delay_s=1.0, max_delay_s=0.5), "max_delay_s"),
        (lambda: RetryPolicy(retry_on=frozenset({ErrorCode.NOT_FOUND})), "never retryable"),
        (lambda: RetryPolicy(retry_on={ErrorCode.TOOL_TIMEOUT}), "frozenset"),
        (lambda: BreakerPolicy(failure_rate=1.5), "failure_rate"),
        (lambda: BreakerPolicy(failure_rate=0), "failure_rate"),
        (lambda: BreakerPolicy(min_calls=0), "min_calls"),
        (lambda: BreakerPolicy(open_s=math.inf), "open_s"),
        (lambda: BreakerPolicy(half_open_probes=0), "half_open_probes"),
        (lambda: TokenBucket(rate_per_s=0), "rate_per_s"),
        (lambda: TokenBucket(rate_per_s=1, burst=0), "burst"),
        (lambda: RateLimitPolicy(), "per_tool"),
        (lambda: FallbackPolicy(FallbackKind.ALTERNATE), "alternate"),
        (lambda: FallbackPolicy(FallbackKind.CACHED, tool="x"), "alternate"),
        (lambda: FallbackPolicy.cached(max_age_s=0), "max_age_s"),
        (lambda: Envelope(timeout_s=0), "timeout_s"),
        (lambda: Envelope(timeout_s=True), "timeout_s"),
        (lambda: Envelope(retry=3), "retry"),
        (lambda: Envelope(fallback=[FallbackPolicy.escalate()]), "fallback"),
        (
            lambda: Envelope(fallback=(FallbackPolicy.escalate(), FallbackPolicy.cached())),
            "must come last",
        ),
        (lambda: Envelope(timeout_s=5, retry=RetryPolicy(deadline_s=2)), "shorter than"),
    ],
)
def test_invalid_values_fail_when_built(build: Any, fragment: str) -> None:
    assert fragment in _config_error(build)


def test_retries_on_a_write_without_idempotency_support_are_refused() -> None:
    message = _config_error(
        lambda: make_tool(
            cancel, risk=RiskClass.IRREVERSIBLE, envelope=Envelope(retry=RetryPolicy())
        )
    )
    assert "idempotent=True" in message and "cancel" in message
    _config_error(lambda: make_tool(cancel, risk=RiskClass.WRITE, envelope=Envelope()))
    # the same settings are fine once the tool says it honours the key
    t = make_tool(cancel, risk=RiskClass.IRREVERSIBLE, envelope=Envelope(), idempotent=True)
    assert t.spec.envelope.retry.max_attempts == 3 and t.spec.idempotent


def test_defaults_retry_reads_and_idempotent_writes_only() -> None:
    read = make_tool(lookup)
    write = make_tool(cancel, risk=RiskClass.WRITE)
    keyed = make_tool(cancel, risk=RiskClass.WRITE, idempotent=True)
    assert read.spec.envelope.retry.max_attempts == 3
    assert write.spec.envelope.retry.max_attempts == 1
    assert keyed.spec.envelope.retry.max_attempts == 3
    assert read.spec.envelope.breaker is None and read.spec.envelope.rate_limit is None


def test_timeout_is_set_in_one_place() -> None:
    assert make_tool(lookup, timeout_s=2.5).spec.envelope.timeout_s == 2.5
    assert make_tool(lookup, timeout_s=2.5).spec.timeout_s == 2.5
    message = _config_error(
        lambda: make_tool(lookup, timeout_s=2.5, envelope=Envelope(timeout_s=1.0))
    )
    assert "one place" in message
    _config_error(lambda: make_tool(lookup, timeout_s=-1))


def test_writes_may_only_fall_back_to_escalation() -> None:
    cached = Envelope(retry=RetryPolicy.never(), fallback=(FallbackPolicy.cached(),))
    assert "only fall back to escalate" in _config_error(
        lambda: make_tool(cancel, risk=RiskClass.WRITE, envelope=cached)
    )
    escalate = Envelope(retry=RetryPolicy.never(), fallback=(FallbackPolicy.escalate(),))
    assert make_tool(cancel, risk=RiskClass.WRITE, envelope=escalate).spec.envelope == escalate


def test_the_decorator_takes_the_same_settings() -> None:
    envelope = Envelope(timeout_s=1.0, breaker=BreakerPolicy(min_calls=3))

    @tool(envelope=envelope, idempotent=True, risk=RiskClass.WRITE)
    def refund(order_id: str, amount: float) -> dict[str, float]:
        """Refund an order."""
        return {"amount": amount}

    assert refund.spec.envelope is envelope and refund.spec.idempotent
    assert refund.spec.envelope.to_dict()["breaker"]["min_calls"] == 3


def test_an_alternate_must_fit_the_primary() -> None:
    envelope = Envelope(fallback=(FallbackPolicy.alternate("other_lookup"),))
    primary = make_tool(lookup, envelope=envelope)
    assert _config_error(
        lambda: make_tool(lookup, envelope=Envelope(fallback=(FallbackPolicy.alternate("lookup"),)))
    ).endswith("cannot be the tool itself")
    # a write cannot stand in for a read
    writer = make_tool(other_lookup, risk=RiskClass.WRITE)
    assert "side effects" in _config_error(lambda: ToolRegistry([primary, writer]))
    # nor can a tool needing more scopes, in either registration order
    scoped = make_tool(other_lookup, scopes=("admin",))
    assert "scopes" in _config_error(lambda: ToolRegistry([scoped, primary]))

    def differently(order_id: str, verbose: bool = False) -> dict[str, str]:
        return {}

    wider = make_tool(differently, name="other_lookup")
    assert "arguments" in _config_error(lambda: ToolRegistry([primary, wider]))

    def stringly(order_id: str) -> str:
        return order_id

    assert "output schema" in _config_error(
        lambda: ToolRegistry([primary, make_tool(stringly, name="other_lookup")])
    )
    registry = ToolRegistry([primary, make_tool(other_lookup)])
    assert registry.names() == ["lookup", "other_lookup"]


def test_with_envelope_rechecks_the_settings() -> None:
    write = make_tool(cancel, risk=RiskClass.WRITE)
    _config_error(lambda: write.with_envelope(Envelope()))
    keyed = write.with_envelope(Envelope(timeout_s=0.5), idempotent=True)
    assert keyed.spec.timeout_s == 0.5 and keyed.spec.idempotent
