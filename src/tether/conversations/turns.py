"""What a turn's run leaves in its conversation, and folding it in once the run has ended.

A turn claims its conversation, and its run is queued for a worker (see `tether.workers`): the
run may end anywhere, on a worker, in a request that cancelled it, or in a recovery after its
process died. Whoever sees it end folds it in: the turn, the state it leaves and its pending
action are recorded under the claim that started it, which lets go of the conversation. The
claim makes the fold happen once: a second party finds it gone and changes nothing. A turn
whose claim lapsed and whose conversation another turn took leaves its outcome in its run.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tether.conversations.store import ConversationStore, TurnRecord
from tether.core.errors import ErrorCode, TetherError
from tether.core.types import REFERENCE_ROLE, DecisionKind, Run, RunStatus, StepKind
from tether.runtime.pending import PendingAction
from tether.runtime.seams import Reply
from tether.runtime.state import tool_evidence_text

log = logging.getLogger("tether.conversations")


@dataclass(frozen=True)
class TurnRef:
    """The conversation turn a run is, from the run's own metadata."""

    conversation_id: str
    turn: int
    claimant: str
    kind: str  # text | confirm | decline


def turn_of(run: Run) -> TurnRef | None:
    """The turn `run` is, or None for a run that is no conversation's turn."""
    metadata = run.input.get("metadata", {})
    conversation, number = metadata.get("conversation"), metadata.get("turn")
    claimant = metadata.get("claim")
    if not isinstance(conversation, str) or not isinstance(number, int):
        return None
    if not isinstance(claimant, str):
        return None
    return TurnRef(conversation, number, claimant, str(metadata.get("reply", Reply.TEXT.value)))


def still_held(store: ConversationStore, ref: TurnRef) -> bool:
    """Whether the turn's claim still holds its conversation (a claim that lapsed still holds
    it until another turn takes it)."""
    try:
        record = store.get(ref.conversation_id, with_state=False)
    except TetherError as exc:
        if exc.code is not ErrorCode.CONVERSATION_NOT_FOUND:
            raise
        return False
    return record.busy_run == ref.claimant and record.turns + 1 == ref.turn


def fold_turn(store: ConversationStore, run: Run, now: float) -> bool:
    """Record `run`'s turn in its conversation, once, if the turn's claim still holds it.
    False when `run` is no turn, is still queued or running, was folded in already, or its
    conversation moved on (the outcome stays in the run). `run` comes with its steps."""
    ref = turn_of(run)
    if ref is None or run.status in (RunStatus.QUEUED, RunStatus.RUNNING):
        return False
    try:
        record = store.get(ref.conversation_id)
    except TetherError as exc:
        if exc.code is not ErrorCode.CONVERSATION_NOT_FOUND:
            raise
        return False
    if record.busy_run != ref.claimant or record.turns + 1 != ref.turn:
        return False
    turn = TurnRecord(ref.turn, run.id, ref.kind, now)
    after = state_after(run, record.state)
    try:
        store.finish_turn(
            ref.conversation_id, ref.claimant, turn, after, pending_of(run), now, record.state
        )
    except TetherError as exc:
        if exc.code is not ErrorCode.CONVERSATION_BUSY:
            raise
        return False  # folded in by another party between the read and the write
    log.info("conversation %s: turn %d folded in (run %s)", ref.conversation_id, ref.turn, run.id)
    return True


def pending_of(run: Run) -> PendingAction | None:
    """The action a turn's run left waiting for the customer's yes, if it asked for one."""
    decision = run.decision
    if decision is None or decision.kind is not DecisionKind.CONFIRMATION:
        return None
    return PendingAction.from_dict(decision.pending_action) if decision.pending_action else None


_NOT_RUN = '{"ok":false,"error":{"code":"NOT_RUN","message":"not run"}}'


def _history(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """What later turns continue from (messages as recorded): no system or reference messages
    (each run writes its own), and a tool result for every call (one a turn left unanswered is marked as
    not run, as chat APIs require)."""
    kept = [dict(m) for m in messages if m.get("role") not in ("system", REFERENCE_ROLE)]
    answered = {m.get("tool_call_id") for m in kept if m.get("role") == "tool"}
    out: list[dict[str, Any]] = []
    for m in kept:
        out.append(m)
        for call in m.get("tool_calls") or ():
            if call.get("id") not in answered:
                out.append({"role": "tool", "content": _NOT_RUN, "tool_call_id": call.get("id")})
    return out


def state_after(run: Run, before: Mapping[str, Any]) -> dict[str, Any]:
    """The conversation's state after a turn, folded from the turn's recorded steps (as
    recorded: nothing is parsed into messages and written back)."""
    messages: list[Mapping[str, Any]] = []
    if not any(step.kind is StepKind.SCOPE for step in run.steps):
        # ended before it began (cancelled while queued): what it was asked follows the history
        messages = [*before.get("messages", ()), *run.input.get("messages", ())]
    evidence: dict[str, Any] = dict(before.get("evidence", {}))
    tool_results = int(before.get("tool_results", 0))
    for step in run.steps:
        data = step.data
        if step.kind is StepKind.SCOPE:  # the history the turn saw, then its own message
            held = data.get("conversation", {}).get("history")
            prior = list(before.get("messages", ()))[:held] if held is not None else []
            messages = [*prior, *data.get("messages", ())]
            tool_results = int(data.get("prior_tool_results", tool_results))
        else:
            messages.extend(data.get("messages", ()))
        for ev in data.get("evidence", ()):
            evidence[ev["id"]] = ev
        if "evidence_id" in data and data.get("ok"):
            tool_results += 1
            evidence[data["evidence_id"]] = {
                "id": data["evidence_id"],
                "source": f"tool:{data['tool']}",
                "text": tool_evidence_text(data.get("output")),
            }
    decision = run.decision
    if decision is not None and decision.kind is not DecisionKind.CONFIRMATION and decision.text:
        # what the user was told ends the turn (a confirmation's summary is already there)
        messages.append({"role": "assistant", "content": decision.text})
    state: dict[str, Any] = {
        "messages": _history(messages),
        "evidence": evidence,
        "tool_results": tool_results,
    }
    if run.status is RunStatus.SUSPENDED:
        state["waiting_run"] = run.id  # a person has to decide before the next turn
    return state
