"""Permission checks: the agent is granted the tool, the run's capability token grants it, and
every resource named belongs to the principal the run acts for, according to authoritative data
rather than the model's claims."""

from __future__ import annotations

import copy
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from tether.access.tokens import RUN_AUDIENCE
from tether.core.errors import ErrorCode, TetherError
from tether.core.guard import GuardContext
from tether.core.selectors import as_id, parse_selector
from tether.core.types import ToolCall, Verdict


class ResourceOwners(Protocol):
    """Who owns each resource a domain's tools name, from authoritative data."""

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
        tenant: str | None = None,
        fresh: bool = False,
        at: float | None = None,
    ) -> CapabilityClaimsView:
        """The claims of a token that grants this use; raises TetherError with a token code."""
        ...


def capability_claims(
    tokens: CapabilityVerifier, ctx: GuardContext, call: ToolCall, fresh: bool = False
) -> CapabilityClaimsView:
    """The claims of the run's capability token, which must verify at the decision time
    (signature, expiry, audience, revocation; `fresh`: the signature checked again, not taken
    from the cache), be bound to this run, principal and tenant, and grant the tool and every
    scope it requires; else TetherError with a token code."""
    if not ctx.capability:
        raise TetherError(ErrorCode.TOKEN_INVALID, "the run holds no capability token")
    tool = ctx.tools.get(call.name)
    return tokens.verify(
        ctx.capability,
        audience=RUN_AUDIENCE,
        run_id=ctx.run_id,
        principal=ctx.principal.id,
        tenant=ctx.principal.tenant,
        tool=call.name,
        required_scopes=tool.spec.required_scopes if tool is not None else (),
        fresh=fresh,
        at=ctx.now,
    )


def verify_capability(
    check: str, tokens: CapabilityVerifier, ctx: GuardContext, call: ToolCall
) -> Verdict:
    """The run's capability token grants this call (see `capability_claims`)."""
    try:
        claims = capability_claims(tokens, ctx, call)
    except TetherError as exc:
        return Verdict.deny(check, exc.code, exc.message)
    tool = ctx.tools.get(call.name)
    scopes = tool.spec.required_scopes if tool is not None else ()
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


ResourceCallback = Callable[[Mapping[str, Any]], Iterable[tuple[str, str | int, str]]]
"""Names resources a path cannot express: from a call's arguments, `(kind, id, where)` each."""


@dataclass(frozen=True, slots=True)
class _Named:
    kind: str
    resource_id: str
    where: str  # the concrete path (`items[1].id`) or the callback's own label
    source: str  # the selector text, or "callback"


class _Unreadable(Exception):
    """A callback answered something that is not `(kind, id, where)` triples."""


class OwnershipCheck:
    """Every resource a call names must be one the principal owns.

    Resources are named by the tool's `resources` selectors (`order_id`, `booking.user_id`,
    `payment_methods[].payment_id`; every id a path reaches is checked) and, for ownership a
    path cannot express, by an optional callback per tool name. A resource that does not exist
    is left to the tool (it answers NOT_FOUND); one owned by somebody else is denied before the
    tool runs, so nothing about it is read or changed. When ownership cannot be established
    (the owner lookup or a callback fails) the call is denied, never let through.
    """

    name = "ownership"

    def __init__(
        self, owners: ResourceOwners, selectors: Mapping[str, ResourceCallback] | None = None
    ) -> None:
        self._owners = owners
        self._callbacks = dict(selectors or {})

    def __call__(self, ctx: GuardContext, call: ToolCall) -> Verdict:
        return self.judge(ctx.principal.id, ctx, call)

    def judge(self, owner: str, ctx: GuardContext, call: ToolCall) -> Verdict:
        """Every resource the call names belongs to `owner` (the run's principal in the chain;
        the token's resource claim at execution)."""
        named: list[_Named] = []
        tool = ctx.tools.get(call.name)
        for text, kind in (tool.spec.resources if tool is not None else {}).items():
            try:
                found = parse_selector(text).extract(call.arguments)
            except Exception as exc:  # a spec built by hand may carry a malformed selector
                return self._unestablished(exc, source=text)
            named.extend(_Named(kind, f.value, f.where, text) for f in found)
        callback = self._callbacks.get(call.name)
        if callback is not None:
            try:
                # a copy, so a callback cannot change the arguments the tool will run with
                answer = callback(copy.deepcopy(dict(call.arguments)))
                named.extend(_callback_entry(entry) for entry in answer)
            except Exception as exc:  # a broken callback must not let the call through
                return self._unestablished(exc, source="callback")
        return self._judge(owner, named)

    def _judge(self, principal: str, named: list[_Named]) -> Verdict:
        """Look up each resource's owner once; the first foreign or unanswered one denies."""
        checked: dict[str, str] = {}
        paths: dict[str, str] = {}
        owners: dict[tuple[str, str], str | None] = {}
        for item in named:
            key = (item.kind, item.resource_id)
            if key not in owners:
                try:
                    owners[key] = self._owners.owner_of(item.kind, item.resource_id)
                except Exception as exc:  # an unanswered lookup is not an answer of "absent"
                    return self._unestablished(exc, source=item.source, named=item)
            owner = owners[key]
            if owner is not None and owner != principal:
                return Verdict.deny(
                    self.name,
                    ErrorCode.PERMISSION_DENIED,
                    f"{item.kind} {item.resource_id!r} (at {item.where}) does not belong to "
                    "the customer this run acts for",
                    argument=item.where,
                    selector=item.source,
                    resource_kind=item.kind,
                    resource_id=item.resource_id,
                )
            checked[f"{item.kind}:{item.resource_id}"] = "owned" if owner is not None else "absent"
            paths[item.where] = f"{item.kind}:{item.resource_id}"
        return Verdict.allow(self.name, resources=checked, paths=paths)

    def _unestablished(
        self, exc: Exception, *, source: str, named: _Named | None = None
    ) -> Verdict:
        facts: dict[str, Any] = {"error": type(exc).__name__, "selector": source}
        if isinstance(exc, TetherError):
            facts["error_code"] = exc.code.value
        if named is not None:
            facts |= {
                "argument": named.where,
                "resource_kind": named.kind,
                "resource_id": named.resource_id,
            }
        return Verdict.deny(
            self.name,
            ErrorCode.PERMISSION_DENIED,
            "ownership of the resources this call names could not be established",
            **facts,
        )


def _callback_entry(entry: object) -> _Named:
    """One callback answer, checked: a wrong shape is a failure, not a resource to skip."""
    if not isinstance(entry, tuple) or len(entry) != 3:
        raise _Unreadable(f"expected (kind, id, where), got {type(entry).__name__}")
    kind, value, where = entry
    resource_id = as_id(value)
    if not isinstance(kind, str) or not kind or resource_id is None or not isinstance(where, str):
        raise _Unreadable("expected (kind, id, where) with a string kind, id and where")
    return _Named(kind, resource_id, where, "callback")
