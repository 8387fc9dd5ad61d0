"""The runtime's seams: what it asks of the services it is wired with, and what it is asked."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from tether.core.guard import GuardContext, ToolCheck
from tether.core.types import Decision, Evidence, Message, Principal, Run, Step, ToolCall, Verdict
from tether.runtime.pending import PendingAction
from tether.store.in_flight import Quota


class PrincipalDirectory(Protocol):
    """Who a principal id is: the domain's directory of users."""

    def resolve(self, principal_id: str) -> Principal:
        """The principal with this id; raises UNKNOWN_PRINCIPAL."""
        ...


class Retriever(Protocol):
    """Finds the passages a run is grounded on (e.g. `tether.grounding.hybrid.StoreRetriever`)."""

    def search(self, query: str, k: int, labels: Any, sources: Sequence[str]) -> list[Evidence]:
        """At most `k` passages for `query` whose ACL meets `labels`, from documents under
        `sources` (the agent's `grounding_sources`) only: another's are never ranked."""
        ...


CommitHook = Callable[[Any], None]  # runs inside the transaction that records a step
SpendHook = Callable[[Any], bool]  # runs inside the transaction that opens a call's ledger row


class ApprovalGate(Protocol):
    """Durable approvals (see `tether.approvals`): an escalated call suspends the run until a
    person decides; escalations that end a run are routed to their queue."""

    def suspends(self, verdict: Verdict) -> bool:
        """Whether this blocking verdict suspends the run instead of ending it."""
        ...

    def open(
        self, run: Run, call: ToolCall, verdict: Verdict, seq: int
    ) -> tuple[dict[str, Any], CommitHook]:
        """The suspension step's data, and the hook that opens the request in its transaction."""
        ...

    def checks(
        self, checks: Sequence[ToolCheck], approval: Mapping[str, Any]
    ) -> Sequence[ToolCheck]:
        """The guard chain of a call a person approved (`approval`: the decision step's data)."""
        ...

    def escalated(self, run: Run, decision: Decision, steps: Sequence[Step]) -> CommitHook | None:
        """The hook that routes a run ending in an escalation to its queue."""
        ...

    def spend(self, ctx: GuardContext, call: ToolCall, approval: Mapping[str, Any]) -> SpendHook:
        """The statement that uses the approval's single-use token for `call`, run in the
        transaction that marks the call as started; False when the token was spent."""
        ...


def chained(*hooks: CommitHook | None) -> CommitHook | None:
    present = [h for h in hooks if h is not None]
    if len(present) < 2:
        return present[0] if present else None

    def run_all(conn: Any) -> None:
        for hook in present:
            hook(conn)

    return run_all


class Reply(StrEnum):
    """How a conversation's turn answers a pending action: a message, or a button."""

    TEXT = "text"
    CONFIRM = "confirm"
    DECLINE = "decline"


@dataclass(frozen=True)
class TurnContext:
    """What a conversation's turn continues from, as the server holds it: the messages, tool
    results and evidence of earlier turns, and the pending action this turn may answer."""

    conversation_id: str
    turn: int
    history: tuple[Message, ...] = ()
    evidence: Mapping[str, Evidence] = field(default_factory=dict)
    tool_results: int = 0
    pending: PendingAction | None = None
    reply: Reply = Reply.TEXT
    # the id the turn's run takes: its claim holds the conversation under it, so a sweep finds
    # a turn whose run ended from its conversation (None: a new id)
    run_id: str | None = None


@dataclass(frozen=True)
class RunRequest:
    """One turn: who it acts for, the user's message(s), the agent, and for a conversation's
    turn, what it continues from. Clients author only user messages."""

    principal_id: str
    messages: Sequence[Message]
    agent: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    conversation: TurnContext | None = None
    # the id the run is to have: a request retried under its Idempotency-Key names the run its
    # first attempt stored, so that the retry finds it instead of storing a second one
    run_id: str | None = None
    # runs its principal and operator key may have in flight: counted as the run is stored, in
    # the transaction that stores it (`tether.store.in_flight`); None: no quota (Python, CLI)
    quota: Quota | None = None
