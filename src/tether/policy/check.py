"""The policy step of the guard chain: build a request from authoritative data and validator
facts, let the engine decide, and return a Verdict naming the policies and reasons.

The domain supplies a `PolicyBinding` (which entities and facts a call or an answer has); the
check itself knows nothing about any domain.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any, Protocol

from tether.core.errors import ErrorCode
from tether.core.guard import GuardContext
from tether.core.types import Effect, Message, ModelTurn, Reason, ToolCall, Verdict
from tether.policy.engine import PolicyDecision, PolicyEngine, PolicyRequest
from tether.policy.source import PolicyMeta
from tether.store.runs import RunStore

Conversation = Callable[[str], Sequence[Message]]


class PolicyBinding(Protocol):
    """Turns a proposal into a policy request for one domain."""

    def request_for_call(
        self, ctx: GuardContext, call: ToolCall, messages: Sequence[Message]
    ) -> PolicyRequest:
        """The request for a proposed tool call, entities and facts included."""
        ...

    def request_for_answer(
        self, ctx: GuardContext, text: str, messages: Sequence[Message]
    ) -> PolicyRequest:
        """The request for a proposed answer's text."""
        ...


def argument_hash(tool: str, arguments: Mapping[str, Any]) -> str:
    """A stable hash of a call's tool and arguments: an approval is bound to exactly these."""
    canonical = json.dumps(
        {"tool": tool, "arguments": arguments}, sort_keys=True, separators=(",", ":")
    )
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def approval_request(ctx: GuardContext, call: ToolCall, decision: PolicyDecision) -> dict[str, Any]:
    """What a person must see to approve an escalated call: the exact action and arguments,
    their hash, why it needs approval, who may approve it and for how long it stays open."""
    approvers = list(dict.fromkeys(m.approver for m in decision.determining))
    return {
        "run_id": ctx.run_id,
        "principal": ctx.principal.id,
        "tool": call.name,
        "arguments": dict(call.arguments),
        "argument_hash": argument_hash(call.name, call.arguments),
        "policies": decision.policy_ids,
        "reasons": [m.reason for m in decision.determining],
        "approver_role": approvers[0] if approvers else "supervisor",
        "approver_roles": approvers,
        "expires_in_s": min((m.expires_in_s for m in decision.determining), default=86_400),
    }


@lru_cache(maxsize=1024)
def _described(meta: PolicyMeta) -> dict[str, Any]:
    """A policy as verdict facts describe it, worked out once per policy (a copy is handed out)."""
    return meta.to_dict()


def to_verdict(
    check: str,
    decision: PolicyDecision,
    request: PolicyRequest,
    elapsed_ms: float,
    approval: Mapping[str, Any] | None = None,
) -> Verdict:
    """The engine's decision as a guard Verdict, with the determining policies and the facts."""
    facts: dict[str, Any] = {
        "policies": decision.policy_ids,
        "rules": decision.rules,
        "determining": [dict(_described(m)) for m in decision.determining],
        "request": request.describe(),
        "policy_ms": round(elapsed_ms, 3),
    }
    if decision.errors:
        facts["errors"] = list(decision.errors)
    if decision.effect is Effect.ALLOW:
        return Verdict(check, Effect.ALLOW, (), facts)
    if decision.invalid_request:
        facts["invalid_request"] = True
        prefix = "the policy could not be evaluated, because its request is invalid"
        reasons = tuple(
            Reason(ErrorCode.POLICY_REQUEST_INVALID, f"{prefix}: {problem}")
            for problem in decision.errors or ("no detail",)
        )
        return Verdict(check, Effect.DENY, reasons, facts)
    if decision.errors:
        message = "the policy could not be evaluated, so the action is refused: " + "; ".join(
            decision.errors
        )
        return Verdict(check, Effect.DENY, (Reason(ErrorCode.POLICY_DENIED, message),), facts)
    if not decision.determining:
        message = f"no policy permits {request.action} on {'::'.join(request.resource)}"
        return Verdict(check, Effect.DENY, (Reason(ErrorCode.POLICY_DENIED, message),), facts)
    if decision.effect is Effect.CONFIRM:
        confirms = [m for m in decision.determining if m.confirm]
        reasons = tuple(
            Reason(ErrorCode.CONFIRMATION_REQUIRED, f"{m.reason} [{m.id}]") for m in confirms
        )
        later = [m for m in decision.determining if m.escalate]
        if later:  # once the user confirms, these still need a person's approval
            facts["escalations"] = [f"{m.reason} [{m.id}]" for m in later]
            if approval is not None:
                facts["approval"] = dict(approval)
        return Verdict(check, Effect.CONFIRM, reasons, facts)
    code = (
        ErrorCode.POLICY_ESCALATED
        if decision.effect is Effect.ESCALATE
        else ErrorCode.POLICY_DENIED
    )
    reasons = tuple(Reason(code, f"{m.reason} [{m.id}]") for m in decision.determining)
    if decision.effect is Effect.ESCALATE and approval is not None:
        facts["approval"] = dict(approval)
    return Verdict(check, decision.effect, reasons, facts)


def stored_conversation(store: RunStore) -> Conversation:
    """The conversation of a run as its committed steps record it.

    For a runtime whose GuardContext carries no messages: every step before a guard step is
    committed except the proposing model turn, whose call the check is given directly.
    """

    def read(run_id: str) -> Sequence[Message]:
        messages: list[Message] = []
        for step in store.get_run(run_id).steps:
            messages[:0] = [Message.from_dict(m) for m in step.data.get("prepend", ())]
            messages.extend(Message.from_dict(m) for m in step.data.get("messages", ()))
        return messages

    return read


class PolicyCheck:
    """A ToolCheck: the call is permitted, denied or escalated by the policy set."""

    def __init__(
        self,
        engine: PolicyEngine,
        binding: PolicyBinding,
        conversation: Conversation | None = None,
        name: str = "policy",
    ) -> None:
        self.engine = engine
        self.binding = binding
        self.name = name
        self._conversation = conversation

    def messages(self, ctx: GuardContext) -> Sequence[Message]:
        """The conversation: from the context, or read back for a run that did not pass it."""
        if ctx.messages or self._conversation is None:
            return ctx.messages
        return self._conversation(ctx.run_id)

    def __call__(self, ctx: GuardContext, call: ToolCall) -> Verdict:
        started = time.perf_counter()
        request = self.binding.request_for_call(ctx, call, self.messages(ctx))
        decision = self.engine.decide(request)
        elapsed = (time.perf_counter() - started) * 1000
        escalates = any(m.escalate for m in decision.determining)
        approval = (
            approval_request(ctx, call, decision)
            if decision.effect in (Effect.ESCALATE, Effect.CONFIRM) and escalates
            else None
        )
        return to_verdict(self.name, decision, request, elapsed, approval)


class PolicyAnswerCheck:
    """An AnswerCheck: outgoing text passes the policy set's rules for answers."""

    def __init__(
        self,
        engine: PolicyEngine,
        binding: PolicyBinding,
        conversation: Conversation | None = None,
        name: str = "policy",
    ) -> None:
        self.engine = engine
        self.binding = binding
        self.name = name
        self._conversation = conversation

    def __call__(self, ctx: GuardContext, turn: ModelTurn) -> Verdict:
        started = time.perf_counter()
        messages = ctx.messages
        if not messages and self._conversation is not None:
            messages = self._conversation(ctx.run_id)
        request = self.binding.request_for_answer(ctx, turn.text, messages)
        decision = self.engine.decide(request)
        elapsed = (time.perf_counter() - started) * 1000
        return to_verdict(self.name, decision, request, elapsed)
