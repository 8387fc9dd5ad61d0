"""A turn whose process died, folded into its conversation once another process ended it.

A conversation's turn ends by recording itself, the state it leaves and its pending action in
the conversation, under the claim it holds. If its process dies first, a recovery resumes its
run from its recorded steps (see `tether.workers.recovery`) and the run ends there; the turn is
then recorded here, under the dead turn's claim, as it would have been had its process lived.
Otherwise the action the turn confirmed would stay pending, ready to be confirmed, and run,
again, and the conversation would not know what it said.
"""

from __future__ import annotations

import logging

from tether.conversations.service import _state_after
from tether.conversations.store import ConversationStore, TurnRecord
from tether.core.errors import ErrorCode, TetherError
from tether.core.types import DecisionKind, Run, RunStatus
from tether.runtime.pending import PendingAction
from tether.runtime.seams import Reply

log = logging.getLogger("tether.conversations")


def fold_recovered(store: ConversationStore, run: Run, now: float) -> bool:
    """Record `run`'s turn in its conversation if the turn's claim is still the one that
    started it; False when `run` is not a turn, has not ended or waited, or its conversation
    moved on (another turn took it once the claim lapsed: the outcome stays in the run)."""
    metadata = run.input.get("metadata", {})
    conversation, number = metadata.get("conversation"), metadata.get("turn")
    claimant = metadata.get("claim")
    if not isinstance(conversation, str) or not isinstance(number, int):
        return False
    if not isinstance(claimant, str) or run.status is RunStatus.RUNNING:
        return False
    try:
        record = store.get(conversation)
    except TetherError as exc:
        if exc.code is not ErrorCode.CONVERSATION_NOT_FOUND:
            raise
        return False
    if record.busy_run != claimant or record.turns + 1 != number:
        return False
    pending = None
    if run.decision is not None and run.decision.kind is DecisionKind.CONFIRMATION:
        raw = run.decision.pending_action
        pending = PendingAction.from_dict(raw) if raw else None
    kind = str(metadata.get("reply", Reply.TEXT.value))
    turn = TurnRecord(number, run.id, kind, now)
    after = _state_after(run, record.state)
    try:
        store.finish_turn(conversation, claimant, turn, after, pending, now, record.state)
    except TetherError as exc:
        if exc.code is not ErrorCode.CONVERSATION_BUSY:
            raise
        return False  # taken over between the read and the write
    log.info("conversation %s: recovered turn %d (run %s)", conversation, number, run.id)
    return True
