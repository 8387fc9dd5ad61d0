"""Breakers and rate-limit buckets "live in the process by default" and a tool's limit protects
its upstream. A release other than the one in force (a rollout's candidate, a conversation
pinned to an earlier release) runs on a candidate desk that `ReleaseDesks` builds in the same
process; it shares the store, observers and leases of the desk in force, but `build_desk` gives
it an executor of its own, so a second set of buckets and breakers: during a rollout a tool's
per-tool limit admits twice its burst from one process, and a breaker the production desk
opened does not stop the candidate's calls to the same failing upstream."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from tether import Agent, Principal, tool
from tether.core.envelope import Envelope, RateLimitPolicy, RetryPolicy, TokenBucket
from tether.sdk import Domain, DomainParts, build_desk
from tether.sdk.release import desk_bundle
from tether.sdk.releases import ReleaseDesks
from tether.store import RunStore
from tether.tools.execute import CallContext


class _Members:
    def resolve(self, principal_id: str) -> Principal:
        return Principal(principal_id, tenant="shop", roles=("member",))


def test_a_release_desk_in_the_same_process_shares_the_tool_rate_limit(tmp_path: Path) -> None:
    calls: list[str] = []
    envelope = Envelope(
        timeout_s=2.0,
        retry=RetryPolicy.never(),
        rate_limit=RateLimitPolicy(per_tool=TokenBucket(0.001, burst=1)),
    )

    def setup(ctx: Any) -> DomainParts:
        @tool(envelope=envelope, scopes=("shop:read",))
        def lookup(item: str) -> dict[str, str]:
            """Ask the upstream about an item."""
            calls.append(item)
            return {"item": item}

        return DomainParts(tools=[lookup], principals=_Members(), rights={"member": ("shop:read",)})

    agent = Agent("desk", "You look items up.", ("lookup",))
    domain = Domain(name="shop", version="1.0", setup=setup, agents=(agent,))
    desk = build_desk(domain, RunStore.open(f"sqlite:///{tmp_path}/store.db"))
    assert desk.release is not None and desk.access is not None

    # a second release of the same pack (other instructions), as a rollout's candidate is
    other = dataclasses.replace(agent, instructions="You look items up, briefly.")
    bundle = desk_bundle(domain, desk.parts, (other,), "revise", model={})
    release, _ = desk.release.releases.create(bundle, actor="test")
    desks = ReleaseDesks(desk)
    candidate = desks.desk_of(release.id)
    assert candidate is not desk

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
