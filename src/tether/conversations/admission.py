"""Whether a turn may be taken, and the claim a turn that may holds its conversation by.

A turn is refused before it claims anything when the conversation is another principal's,
closed, expired, past its limits, waiting for a person or for the run a person decided to end,
or when the reply is malformed or
names no pending action; `Conversations.begin_turn` checks it once before the claim and once
under it. Kept apart from running the turn (`tether.conversations.service`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from tether.conversations.store import ConversationRecord
from tether.core.errors import ErrorCode, TetherError
from tether.core.types import RunStatus
from tether.runtime.seams import Reply

if TYPE_CHECKING:
    from tether.runtime.loop import Runtime

MAX_TEXT_CHARS = 8_000


@dataclass(frozen=True)
class ConversationLimits:
    """How long and how large a conversation may grow, and how long a claim or a pending
    action lasts."""

    max_turns: int = 200
    max_age_s: float = 24 * 3600.0
    max_state_bytes: int = 1_000_000
    busy_lease_s: float = 300.0


@dataclass(frozen=True)
class TurnClaim:
    """A turn that was checked and holds its conversation, but has not run yet."""

    conversation_id: str
    principal_id: str
    claimant: str  # the id the turn's run will take, which the claim holds the conversation by
    turn: int  # the number the turn will have
    reply: Reply
    kind: str  # text | confirm | decline
    text: str | None
    record: ConversationRecord | None = None  # as read under the claim (nothing changes it)


class TurnAdmissionMixin:
    """The checks a turn passes before it runs, for `Conversations` (which provides what is
    declared)."""

    if TYPE_CHECKING:
        runtime: Runtime
        limits: ConversationLimits

    def _usable(self, record: ConversationRecord, principal_id: str, now: float) -> None:
        if record.principal_id != principal_id:
            raise TetherError(
                ErrorCode.CONVERSATION_FORBIDDEN, "the conversation belongs to another principal"
            )
        status = record.status_at(now)
        if status == "closed":
            raise TetherError(ErrorCode.CONVERSATION_CLOSED, "the conversation is closed")
        if status == "expired":
            raise TetherError(ErrorCode.CONVERSATION_EXPIRED, "the conversation has expired")
        if record.turns >= self.limits.max_turns:
            raise TetherError(
                ErrorCode.CONVERSATION_LIMIT,
                f"the conversation reached its limit of {self.limits.max_turns} turns",
            )
        if record.size > self.limits.max_state_bytes:
            raise TetherError(
                ErrorCode.CONVERSATION_LIMIT,
                f"the conversation holds {record.size} bytes; the limit is "
                f"{self.limits.max_state_bytes}",
            )
        self._not_waiting(record)

    def _not_waiting(self, record: ConversationRecord) -> None:
        """Refuse while the conversation's last turn waits for a person (APPROVAL_PENDING) or
        for the run a person decided on to end (CONVERSATION_BUSY)."""
        waiting = record.state.get("waiting_run")
        if waiting:
            run = self.runtime.store.get_run(str(waiting), with_steps=False)
            if run.status is RunStatus.SUSPENDED:
                raise TetherError(
                    ErrorCode.APPROVAL_PENDING,
                    f"run {waiting} waits for a person's decision; nothing was changed",
                )
            if run.status is not RunStatus.COMPLETED:  # decided, and its resume is under way
                raise TetherError(
                    ErrorCode.CONVERSATION_BUSY,
                    f"run {waiting} was decided by a person and is still running; send the "
                    "message again once it ends",
                )

    @staticmethod
    def _reply(
        record: ConversationRecord, reply: Reply, nonce: str | None, text: str | None, now: float
    ) -> str:
        if reply is Reply.TEXT:
            if not isinstance(text, str) or not text.strip():
                raise TetherError(ErrorCode.BAD_REQUEST, "a message needs non-empty text")
            if len(text) > MAX_TEXT_CHARS:
                raise TetherError(
                    ErrorCode.INPUT_TOO_LARGE,
                    f"the message has {len(text)} characters; the limit is {MAX_TEXT_CHARS}",
                )
            return "text"
        pending = record.pending
        if pending is None:
            raise TetherError(ErrorCode.NOTHING_PENDING, "no action is waiting for a confirmation")
        if not isinstance(nonce, str) or nonce != pending.nonce:
            raise TetherError(ErrorCode.NONCE_INVALID, "the nonce names no action waiting here")
        if pending.expired(now):
            raise TetherError(
                ErrorCode.NONCE_INVALID, "the pending action expired; ask for it again"
            )
        return reply.value
