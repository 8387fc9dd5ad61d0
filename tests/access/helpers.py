"""Helpers for tests that drive real runs on the retail desk with access wired in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tether.access.rights import RoleRights
from tether.access.settings import AccessSettings
from tether.core.clock import Clock
from tether.core.guard import GuardContext
from tether.core.types import Message, Principal, Run, ToolCall, Verdict
from tether.domains.retail.db import RetailDB
from tether.domains.retail.desk import RETAIL_ROLES, open_retail_desk
from tether.models.base import ModelRequest
from tether.models.scripted import ScriptedModel, parse_script
from tether.runtime import RunRequest
from tether.sdk import Desk
from tether.store.runs import RunStore

from ..talk import confirm_write

USER = "raj_sanchez_2970"
EMAIL = "raj.sanchez2046@example.com"
OTHER_ORDER = "#W7678072"  # belongs to another customer
OWN_PENDING_ORDER = "#W4566809"
AUTH = {"tool": "find_user_id_by_email", "args": {"email": EMAIL}}  # the policy wants this first
CANCEL = {"order_id": OWN_PENDING_ORDER, "reason": "no longer needed"}
# a conversation in which the customer confirmed the cancellation (the policy checks this)
CANCEL_TALK = (
    f"Please cancel order #W4566809, I no longer need it. My e-mail is {EMAIL}.",
    "I can cancel order #W4566809 for the reason 'no longer needed'. Shall I go ahead?",
    "Yes, please cancel it.",
)


@dataclass
class RecordingModel:
    """A scripted model that keeps every request it was sent (the model's whole input)."""

    script: list[dict[str, Any]]
    requests: list[ModelRequest] = field(default_factory=list)
    name: str = "recording"

    def __post_init__(self) -> None:
        self._inner = ScriptedModel(parse_script(self.script), name=self.name)

    def propose(self, request: ModelRequest) -> Any:
        self.requests.append(request)
        return self._inner.propose(request)


@dataclass
class SpyCheck:
    """A tool check that runs `action(ctx, call)` and allows; keeps the capability it saw."""

    action: Callable[[GuardContext, ToolCall], None] = lambda ctx, call: None
    seen: list[str] = field(default_factory=list)
    name: str = "spy"

    def __call__(self, ctx: GuardContext, call: ToolCall) -> Verdict:
        if ctx.capability:
            self.seen.append(ctx.capability)
        self.action(ctx, call)
        return Verdict.allow(self.name)


class Directory:
    """Principals with chosen roles (for tests of rights other than a customer's)."""

    def __init__(self, roles: tuple[str, ...]) -> None:
        self.roles = roles

    def resolve(self, principal_id: str) -> Principal:
        return Principal(principal_id, "retail", self.roles)


def open_desk(
    store: RunStore,
    clock: Clock | None = None,
    rights: RoleRights = RETAIL_ROLES,
    roles: tuple[str, ...] | None = None,
    **settings: Any,
) -> Desk:
    """A desk over `store` with a fresh copy of the retail data."""
    chosen = AccessSettings(**{"revocation_cache_s": 0.0, **settings})
    desk = open_retail_desk(
        store, db=RetailDB.fresh_copy(), clock=clock, settings=chosen, rights=rights
    )
    if roles is not None:
        desk.runtime.principals = Directory(roles)
    return desk


def ask(
    desk: Desk,
    talk: str | tuple[str, ...],
    script: list[dict[str, Any]],
    user: str = USER,
    model: RecordingModel | None = None,
) -> Run:
    """One run: `talk` is the customer's message; a tuple (request, read-back, yes) is a
    conversation whose write the customer confirms: the final turn's run is returned."""
    if isinstance(talk, str):
        adapter = model or RecordingModel(script)
        return desk.runtime.run(RunRequest(user, [Message("user", talk)]), adapter)
    if model is not None:  # the model's requests are what the test reads: one turn
        return desk.runtime.run(RunRequest(user, [Message("user", talk[0])]), model)
    first, second = confirm_write(desk, user, talk[0], script)
    return (second or first).run


def add_check(desk: Desk, check: SpyCheck) -> None:
    """Append a check at the end of the tool chain (after every real check allowed)."""
    desk.runtime.tool_checks = (*desk.runtime.tool_checks, check)
