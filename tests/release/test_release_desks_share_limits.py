"""Breakers and rate-limit buckets "live in the process by default" and a tool's limit protects
its upstream. A release other than the one in force (a rollout's candidate, a conversation
pinned to an earlier release) runs on a candidate desk that `ReleaseDesks` builds in the same
process; it shares the store, observers and leases of the desk in force, and its executor too:
were the executor its own, a second set of buckets and breakers would let a tool's per-tool
limit admit twice its burst from one process during a rollout, and a breaker the production
desk opened would not stop the candidate's calls to the same failing upstream."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from tether import Agent, Principal, tool
from tether.core.envelope import (
    BreakerPolicy,
    Envelope,
    RateLimitPolicy,
    RetryPolicy,
    TokenBucket,
)
from tether.core.errors import ErrorCode
from tether.sdk import Desk, Domain, DomainParts, build_desk
from tether.sdk.release import desk_bundle
from tether.sdk.releases import ReleaseDesks
from tether.store import RunStore
from tether.tools.execute import CallContext


class _Members:
    def resolve(self, principal_id: str) -> Principal:
        return Principal(principal_id, tenant="shop", roles=("member",))


def _desks(
    tmp_path: Path, envelope: Envelope, calls: list[str], pack: str = "shop"
) -> tuple[Desk, Desk]:
    """The desk in force and a release desk of another release of the same pack."""

    def setup(ctx: Any) -> DomainParts:
        @tool(envelope=envelope, scopes=("shop:read",))
        def lookup(item: str) -> dict[str, str]:
            """Ask the upstream about an item."""
            calls.append(item)
            if item.startswith("down"):
                raise ConnectionError("the upstream is down")
            return {"item": item}

        return DomainParts(tools=[lookup], principals=_Members(), rights={"member": ("shop:read",)})

    agent = Agent("desk", "You look items up.", ("lookup",))
    domain = Domain(name=pack, version="1.0", setup=setup, agents=(agent,))
    tmp_path.mkdir(parents=True, exist_ok=True)
    desk = build_desk(domain, RunStore.open(f"sqlite:///{tmp_path}/store.db"))
    assert desk.release is not None and desk.access is not None

    # a second release of the same pack (other instructions), as a rollout's candidate is
    other = dataclasses.replace(agent, instructions="You look items up, briefly.")
    bundle = desk_bundle(domain, desk.parts, (other,), "revise", model={})
    release, _ = desk.release.releases.create(bundle, actor="test")
    desks = ReleaseDesks(desk)
    candidate = desks.desk_of(release.id)
    assert candidate is not desk
    return desk, candidate


def test_a_release_desk_in_the_same_process_shares_the_tool_rate_limit(tmp_path: Path) -> None:
    calls: list[str] = []
    envelope = Envelope(
        timeout_s=2.0,
        retry=RetryPolicy.never(),
        rate_limit=RateLimitPolicy(per_tool=TokenBucket(0.001, burst=1)),
    )
    desk, candidate = _desks(tmp_path, envelope, calls)

    context = CallContext(run_id="r", principal_id="alice")
    in_force = desk.runtime.tools.get("lookup")
    pinned = candidate.runtime.tools.get("lookup")
    assert in_force is not None and pinned is not None
    first = desk.runtime.executor.execute(in_force, {"item": "a"}, context)
    again = desk.runtime.executor.execute(in_force, {"item": "b"}, context)
    assert first.ok and again.code is not None and again.code.value == "RATE_LIMITED"
    third = candidate.runtime.executor.execute(pinned, {"item": "c"}, context)
    assert not third.ok, (
        f"the tool's limit (burst 1) admitted {len(calls)} calls to its upstream from one "
        f"process ({calls}): the release desk keeps buckets of its own"
    )


def test_a_breaker_production_opened_stops_the_release_desk_too(tmp_path: Path) -> None:
    calls: list[str] = []
    breaker = BreakerPolicy(failure_rate=0.5, min_calls=2, open_s=600.0)
    envelope = Envelope(timeout_s=2.0, retry=RetryPolicy.never(), breaker=breaker)
    desk, candidate = _desks(tmp_path, envelope, calls)
    context = CallContext(run_id="r", principal_id="alice")
    in_force, pinned = desk.runtime.tools.get("lookup"), candidate.runtime.tools.get("lookup")
    assert in_force is not None and pinned is not None
    for item in ("down-1", "down-2"):
        assert not desk.runtime.executor.execute(in_force, {"item": item}, context).ok
    tried = candidate.runtime.executor.execute(pinned, {"item": "c"}, context)
    assert tried.code is ErrorCode.CIRCUIT_OPEN and "c" not in calls


def test_another_pack_in_the_same_process_keeps_its_own_limits(tmp_path: Path) -> None:
    """Limits are per pack (as the Redis keys are): a tool of the same name in another pack
    has an upstream of its own."""
    calls: list[str] = []
    envelope = Envelope(
        timeout_s=2.0,
        retry=RetryPolicy.never(),
        rate_limit=RateLimitPolicy(per_tool=TokenBucket(0.001, burst=1)),
    )
    desk, _ = _desks(tmp_path / "one", envelope, calls)
    other, _ = _desks(tmp_path / "two", envelope, calls, pack="warehouse")
    context = CallContext(run_id="r", principal_id="alice")
    for built in (desk, other):
        found = built.runtime.tools.get("lookup")
        assert found is not None
        assert built.runtime.executor.execute(found, {"item": "a"}, context).ok
