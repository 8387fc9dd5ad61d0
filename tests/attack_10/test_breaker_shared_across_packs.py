"""Two domain packs in one deployment (one process, one PostgreSQL store, one Redis prefix),
each with its own tool called `lookup`. They are different tools over different upstreams, so
one pack's failing `lookup` must not open the breaker of the other pack's healthy one."""

from __future__ import annotations

import uuid

import pytest
import redis

from tether import Agent, Principal, ToolError, tool
from tether.core.envelope import BreakerPolicy, Envelope, RetryPolicy
from tether.sdk import Domain, DomainParts, build_desk
from tether.store import RunStore

REDIS_URL = "redis://127.0.0.1:6379/0"
ENVELOPE = Envelope(
    retry=RetryPolicy.never(),
    breaker=BreakerPolicy(failure_rate=0.5, window_s=60.0, min_calls=2, open_s=60.0),
)


class _People:
    def __init__(self, tenant: str) -> None:
        self.tenant = tenant

    def resolve(self, principal_id: str) -> Principal:
        return Principal(principal_id, tenant=self.tenant, roles=("member",))


def _pack(name: str, healthy: bool) -> Domain:
    def setup(ctx):  # noqa: ANN001, ANN202
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
def redis_prefix(monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis is not reachable: {exc}")
    prefix = f"attack10-{uuid.uuid4().hex[:8]}:"
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
        for _ in range(4):  # alpha's upstream is down: its breaker opens
            outcome = broken.runtime.executor.execute(alpha_lookup, {"key": "k1"})
            assert not outcome.ok
        outcome = fine.runtime.executor.execute(beta_lookup, {"key": "k1"})
        assert outcome.ok, (
            f"beta's healthy lookup was refused because of alpha's: {outcome.code} "
            f"{outcome.message}"
        )
        assert outcome.output == {"key": "k1", "pack": "beta"}
    finally:
        store.close()
