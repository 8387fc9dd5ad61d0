"""Permission checks: the agent is granted the tool, the run's capability token grants it, and
every resource named belongs to the principal the run acts for, according to authoritative data
rather than the model's claims."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, Protocol

from tether.access.tokens import RUN_AUDIENCE
from tether.core.errors import ErrorCode, TetherError
from tether.core.guard import GuardContext
from tether.core.types import ToolCall, Verdict


class ResourceOwners(Protocol):
    def owner_of(self, kind: str, resource_id: str) -> str | None:
        """The id of the principal who owns the resource, or None if it does not exist."""
        ...


class CapabilityClaimsView(Protocol):
    @property
    def id(self) -> str: ...


class CapabilityVerifier(Protocol):
    def verify(
        self,
        token: str,
        *,
        audience: str,
        run_id: str | None = None,
        principal: str | None = None,
        tool: str | None = None,
        required_scopes: Collection[str] = (),
        arguments: Mapping[str, Any] | None = None,
        consume: bool = False,
    ) -> CapabilityClaimsView:
        """The claims of a token that grants this use; raises TetherError with a token code."""
        ...


def verify_capability(
    check: str, tokens: CapabilityVerifier, ctx: GuardContext, call: ToolCall
) -> Verdict:
    """The run's capability token verifies (signature, expiry, audience, revocation), is bound
    to this run and principal, and grants the tool and every scope the tool requires."""
    if not ctx.capability:
        return Verdict.deny(check, ErrorCode.TOKEN_INVALID, "the run holds no capability token")
    tool = ctx.tools.get(call.name)
    scopes = tool.spec.required_scopes if tool is not None else ()
    try:
        claims = tokens.verify(
            ctx.capability,
            audience=RUN_AUDIENCE,
            run_id=ctx.run_id,
            principal=ctx.principal.id,
            tool=call.name,
            required_scopes=scopes,
        )
    except TetherError as exc:
        return Verdict.deny(check, exc.code, exc.message)
    return Verdict.allow(check, token_id=claims.id, scopes=sorted(scopes))


class GrantCheck:
    """The agent's grants include the tool; with `tokens`, the run's capability token (agent
    grants ∩ principal rights, signed) must also grant it."""

    name = "grant"

    def __init__(self, tokens: CapabilityVerifier | None = None) -> None:
        self._tokens = tokens

    def __call__(self, ctx: GuardContext, call: ToolCall) -> Verdict:
        if call.name not in ctx.agent.tools:
            return Verdict.deny(
                self.name,
                ErrorCode.TOOL_NOT_GRANTED,
                f"agent {ctx.agent.name!r} is not granted tool {call.name!r}",
            )
        if self._tokens is not None:
            return verify_capability(self.name, self._tokens, ctx, call)
        return Verdict.allow(self.name)


class CapabilityCheck:
    """Only the capability token (see `verify_capability`): the re-check at execution."""

    name = "capability"

    def __init__(self, tokens: CapabilityVerifier) -> None:
        self._tokens = tokens

    def __call__(self, ctx: GuardContext, call: ToolCall) -> Verdict:
        return verify_capability(self.name, self._tokens, ctx, call)


class OwnershipCheck:
    """Each argument the tool marks as a resource must name one the principal owns.

    A resource that does not exist is left to the tool (it answers NOT_FOUND); one owned by
    somebody else is denied before the tool runs, so nothing about it is read or changed.
    """

    name = "ownership"

    def __init__(self, owners: ResourceOwners) -> None:
        self._owners = owners

    def __call__(self, ctx: GuardContext, call: ToolCall) -> Verdict:
        tool = ctx.tools.get(call.name)
        if tool is None:
            return Verdict.allow(self.name)
        checked: dict[str, str] = {}
        for arg, kind in tool.spec.resources.items():
            value = call.arguments.get(arg)
            if not isinstance(value, str):
                continue
            owner = self._owners.owner_of(kind, value)
            if owner is not None and owner != ctx.principal.id:
                return Verdict.deny(
                    self.name,
                    ErrorCode.PERMISSION_DENIED,
                    f"{kind} {value!r} does not belong to the customer this run acts for",
                    argument=arg,
                    resource_kind=kind,
                    resource_id=value,
                )
            checked[f"{kind}:{value}"] = "owned" if owner else "absent"
        return Verdict.allow(self.name, resources=checked)
