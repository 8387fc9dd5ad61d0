"""Two domain packs in one deployment (one PostgreSQL store, one Redis prefix), each with its
own tool called `lookup`: different tools over different upstreams. Their breakers and
rate-limit buckets in Redis are each pack's own (one pack's failing `lookup` does not open the
other's breaker, nor does a principal's traffic in one pack drain its namesake's bucket in the
other), every key stays under TETHER_REDIS_PREFIX, and two desks of the same pack (two
replicas) still share one breaker."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import redis

from tests.conftest import IN_CI
from tether import Agent, Principal, ToolError, tool
from tether.core.envelope import (
    BreakerPolicy,
    Envelope,
    RateLimitPolicy,
    RetryPolicy,
    TokenBucket,
)
from tether.core.errors import ErrorCode
from tether.sdk import DeskContext, Domain, DomainParts, build_desk
from tether.store import RunStore
from tether.tools.execute import CallContext

REDIS_URL = os.environ.get("TETHER_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

pytestmark = pytest.mark.redis

ENVELOPE = Envelope(
    retry=RetryPolicy.never(),
    breaker=BreakerPolicy(failure_rate=0.5, window_s=60.0, min_calls=2, open_s=60.0),
    # one call a minute per principal: a second is refused while the bucket refills
    rate_limit=RateLimitPolicy(per_principal=TokenBucket(rate_per_s=1 / 60, burst=1)),
)


class _People:
    def __init__(self, tenant: str) -> None:
        self.tenant = tenant

    def resolve(self, principal_id: str) -> Principal:
        return Principal(principal_id, tenant=self.tenant, roles=("member",))


def _pack(name: str, healthy: bool) -> Domain:
    def setup(ctx: DeskContext) -> DomainParts:
        @tool(envelope=ENVELOPE)
        def lookup(key: str) -> dict:
            """Look a record up in this pack's own system."""
            if not healthy:
                raise ToolError("UPSTREAM_ERROR", f"{name}'s upstream is down")
            return {"key": key, "pack": name}

        return DomainParts(tools=[lookup], principals=_People(name), rights={"member": ()})

    return Domain(
        name=name,
        version="1.0",
        setup=setup,
        agents=(Agent(f"{name}-desk", f"You help {name} members.", ("lookup",)),),
    )


@pytest.fixture
def redis_prefix(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """TETHER_REDIS_URL and a key prefix of this test alone, removed afterwards."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except (redis.RedisError, OSError) as exc:
        message = f"Redis at {REDIS_URL} is not reachable: {exc}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    prefix = f"tether-test:{uuid.uuid4().hex[:12]}:"
    monkeypatch.setenv("TETHER_REDIS_URL", REDIS_URL)
    monkeypatch.setenv("TETHER_REDIS_PREFIX", prefix)
    yield prefix
    for key in client.scan_iter(match=prefix + "*"):
        client.delete(key)
    client.close()


def test_one_packs_failing_tool_does_not_open_anothers_breaker(
    pg_url: str, redis_prefix: str
) -> None:
    store = RunStore.open(pg_url)
    try:
        broken = build_desk(_pack("alpha", healthy=False), store)
        fine = build_desk(_pack("beta", healthy=True), store)
        alpha_lookup = broken.runtime.tools.get("lookup")
        beta_lookup = fine.runtime.tools.get("lookup")
        for n in range(4):  # alpha's upstream is down: its breaker opens
            call = CallContext(principal_id=f"member-{n}")
            outcome = broken.runtime.executor.execute(alpha_lookup, {"key": "k1"}, call)
            assert not outcome.ok
        assert outcome.code is ErrorCode.CIRCUIT_OPEN
        outcome = fine.runtime.executor.execute(beta_lookup, {"key": "k1"}, CallContext())
        assert outcome.ok, (
            f"beta's healthy lookup was refused because of alpha's: {outcome.code} "
            f"{outcome.message}"
        )
        assert outcome.output == {"key": "k1", "pack": "beta"}
    finally:
        store.close()


def test_a_principal_of_one_pack_does_not_drain_its_namesakes_bucket_in_another(
    pg_url: str, redis_prefix: str
) -> None:
    store = RunStore.open(pg_url)
    try:
        alpha = build_desk(_pack("alpha", healthy=True), store)
        beta = build_desk(_pack("beta", healthy=True), store)
        same_id = CallContext(principal_id="sam")
        for desk in (alpha, beta):  # each pack's first call of the minute goes through
            lookup = desk.runtime.tools.get("lookup")
            assert desk.runtime.executor.execute(lookup, {"key": "k"}, same_id).ok
        lookup = alpha.runtime.tools.get("lookup")
        again = alpha.runtime.executor.execute(lookup, {"key": "k"}, same_id)
        assert again.code is ErrorCode.RATE_LIMITED  # within one pack the bucket still holds
    finally:
        store.close()


def test_two_desks_of_one_pack_share_one_breaker_under_the_prefix(
    pg_url: str, redis_prefix: str
) -> None:
    store = RunStore.open(pg_url)
    try:
        one, other = (build_desk(_pack("alpha", healthy=False), store) for _ in range(2))
        for n in range(4):  # one replica sees alpha's upstream fail
            one.runtime.executor.execute(
                one.runtime.tools.get("lookup"), {"key": "k"}, CallContext(principal_id=f"m{n}")
            )
        outcome = other.runtime.executor.execute(
            other.runtime.tools.get("lookup"), {"key": "k"}, CallContext(principal_id="fresh")
        )
        assert outcome.code is ErrorCode.CIRCUIT_OPEN  # the other replica sees the same breaker
        client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
        try:
            keys = set(client.scan_iter(match=redis_prefix + "*"))
        finally:
            client.close()
        assert f"{redis_prefix}alpha:{{lookup}}:breaker" in keys, keys
    finally:
        store.close()
