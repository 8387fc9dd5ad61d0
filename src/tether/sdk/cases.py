"""Policy unit cases for a domain pack: each case runs in a fresh copy of the pack's data."""

from __future__ import annotations

from tether.core.clock import SystemClock
from tether.core.errors import ErrorCode, TetherError
from tether.policy.cases import CaseWorld, WorldFactory
from tether.sdk.desk import setup_parts
from tether.sdk.domain import DeskContext, Domain
from tether.store.runs import RunStore
from tether.tools.registry import ToolRegistry


def case_world(domain: Domain, store: RunStore) -> WorldFactory:
    """A factory of fresh case worlds for `domain` (POLICY_INVALID if it has no binding)."""

    def fresh() -> CaseWorld:
        parts = setup_parts(domain, DeskContext(store, SystemClock(), fresh=True))
        if parts.policy is None:
            raise TetherError(
                ErrorCode.POLICY_INVALID, f"domain {domain.name!r} declares no policy binding"
            )
        close = getattr(parts.data, "close", None)
        return CaseWorld(
            tools=ToolRegistry(parts.tools),
            binding=parts.policy,
            principal=parts.principals.resolve,
            agent=domain.default_agent,
            close=close if callable(close) else (lambda: None),
        )

    return fresh
