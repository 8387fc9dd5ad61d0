"""The execution gate: the run's capability token, verified where the tool runs.

The guard chain decides whether a proposed call is allowed; the gate makes the capability a
property of execution itself. Right before a tool runs, the serialized token that travels with
the call is verified again from scratch, trusting only the verification key: its signature
(never a cached verification), audience, expiry, revocation, its binding to this run, principal
and tenant, the tool and the scopes it grants, and its resource claim. The claim names whose
resources the run may touch (`owner`); every resource the call names (the tool's `resources`
selectors and the domain's ownership callbacks) must belong to that owner according to the
domain's authoritative data. Whatever the chain said — even an empty or allow-all chain —
a call the token does not cover is refused with a stable code and nothing runs.
"""

from __future__ import annotations

from collections.abc import Mapping

from tether.access.checks import (
    OwnershipCheck,
    ResourceCallback,
    ResourceOwners,
    capability_claims,
)
from tether.access.tokens import CapabilityClaims, CapabilityTokens
from tether.core.errors import ErrorCode, TetherError
from tether.core.guard import GuardContext
from tether.core.types import Effect, ToolCall, Verdict

STAGE = "execute"


class _NoOwners:
    """Stands in when no ownership data is bound: any named resource cannot be established."""

    def owner_of(self, kind: str, resource_id: str) -> str | None:
        raise TetherError(
            ErrorCode.RESOURCE_NOT_IN_TOKEN, "no ownership data is bound to check the claim"
        )


class ExecutionGate:
    """Verifies, at the moment of execution, that the run's token covers this exact call."""

    name = STAGE

    def __init__(
        self,
        tokens: CapabilityTokens,
        owners: ResourceOwners | None = None,
        selectors: Mapping[str, ResourceCallback] | None = None,
    ) -> None:
        self.tokens = tokens
        self.bind(owners, selectors)

    def bind(
        self,
        owners: ResourceOwners | None,
        selectors: Mapping[str, ResourceCallback] | None = None,
    ) -> None:
        """The domain's ownership data, against which the token's resource claim is checked
        (without it, a call that names any resource is refused)."""
        self._ownership = OwnershipCheck(owners or _NoOwners(), selectors)

    def __call__(self, ctx: GuardContext, call: ToolCall) -> Verdict:
        try:  # verified afresh from the token and the key alone, whatever ran before
            claims = capability_claims(self.tokens, ctx, call, fresh=True)
        except TetherError as exc:
            return Verdict.deny(self.name, exc.code, exc.message)
        assert isinstance(claims, CapabilityClaims)  # what CapabilityTokens.verify returns
        return self._claimed(ctx, call, claims)

    def _claimed(self, ctx: GuardContext, call: ToolCall, claims: CapabilityClaims) -> Verdict:
        """Every resource the call names lies within the token's resource claim."""
        owner = claims.resources.get("owner")
        if not owner or owner != claims.principal:
            return Verdict.deny(
                self.name,
                ErrorCode.RESOURCE_NOT_IN_TOKEN,
                "the token claims no resources of the principal it was issued to",
                token_id=claims.id,
            )
        verdict = self._ownership.judge(owner, ctx, call)
        if verdict.effect is not Effect.ALLOW:
            return Verdict.deny(
                self.name,
                ErrorCode.RESOURCE_NOT_IN_TOKEN,
                verdict.reasons[0].message,
                token_id=claims.id,
                **{k: v for k, v in verdict.facts.items() if k != "error_code"},
            )
        return Verdict.allow(
            self.name,
            token_id=claims.id,
            scopes=sorted(claims.scopes),
            resources=verdict.facts.get("resources", {}),
        )
