"""Permission checks: the agent is granted the tool, and every resource named belongs to the
principal the run acts for, according to authoritative data rather than the model's claims."""

from __future__ import annotations

from typing import Protocol

from tether.core.errors import ErrorCode
from tether.core.guard import GuardContext
from tether.core.types import ToolCall, Verdict


class ResourceOwners(Protocol):
    def owner_of(self, kind: str, resource_id: str) -> str | None:
        """The id of the principal who owns the resource, or None if it does not exist."""
        ...


class GrantCheck:
    """The agent's grants include the tool."""

    name = "grant"

    def __call__(self, ctx: GuardContext, call: ToolCall) -> Verdict:
        if call.name not in ctx.agent.tools:
            return Verdict.deny(
                self.name,
                ErrorCode.TOOL_NOT_GRANTED,
                f"agent {ctx.agent.name!r} is not granted tool {call.name!r}",
            )
        return Verdict.allow(self.name)


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
