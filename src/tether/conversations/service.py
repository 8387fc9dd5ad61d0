"""Conversations: threads the server holds, one principal and one agent each, a run per turn.

    conversation = runtime.converse(principal, agent)
    outcome = conversation.send("Cancel order #W4566809, I no longer need it", model)
    outcome = conversation.confirm(outcome.pending_action["nonce"], model)

Clients author only user messages (or press confirm / decline on a pending action); the
messages, tool results, evidence and pending action of earlier turns come from the store. One
turn at a time: a second concurrent turn is CONVERSATION_BUSY. Limits bound turns, age and the
size of what a conversation keeps.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from tether.conversations.store import ConversationRecord, ConversationStore, TurnRecord
from tether.conversations.turns import fold_turn, pending_of, state_after
from tether.core.errors import ErrorCode, TetherError
from tether.core.types import (
    Decision,
    Evidence,
    Message,
    Run,
    RunStatus,
)
from tether.models.base import ModelAdapter
from tether.runtime.pending import PendingAction
from tether.runtime.pinned import pinned_runtime
from tether.runtime.seams import Reply, RunRequest, TurnContext
from tether.runtime.state import evidence_from_dict

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
class TurnOutcome:
    """What one turn came to: its run, its status, its Decision and the pending action."""

    conversation_id: str
    turn: int
    run: Run
    pending_action: PendingAction | None

    def to_dict(self) -> dict[str, Any]:
        """The turn JSON of the API."""
        decision = self.run.decision
        return {
            "conversation_id": self.conversation_id,
            "turn": self.turn,
            "run_id": self.run.id,
            "status": self.run.status.value,
            "decision": (
                {
                    "kind": decision.kind.value,
                    "text": decision.text,
                    "citations": list(decision.citations),
                    "reason": decision.reason.to_dict() if decision.reason else None,
                }
                if decision is not None
                else None
            ),
            "pending_action": self.pending_action.public() if self.pending_action else None,
        }


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


class ReleasePins(Protocol):
    """Which release a new conversation is pinned to, and the runtime a release's runs
    execute on (see `tether.sdk.releases.ReleaseDesks`)."""

    def pin(self, conversation_id: str, principal_id: str) -> str:
        """The release a new conversation starts (and stays) under."""
        ...

    def runtime(self, release_id: str) -> Runtime:
        """The runtime of `release_id`; RELEASE_NOT_FOUND or RELEASE_SOURCE_INVALID when it
        cannot be had."""
        ...


@dataclass
class Conversation:
    """A handle on one conversation: send the user's turns, confirm or decline, close."""

    conversations: Conversations
    id: str
    principal_id: str
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    def send(
        self,
        text: str,
        model: ModelAdapter,
        metadata: Mapping[str, Any] | None = None,
    ) -> TurnOutcome:
        """One user message; the turn's outcome (a Decision, or a run waiting for a person)."""
        return self.conversations.turn(
            self.id, self.principal_id, model, text=text, metadata=metadata
        )

    def confirm(
        self, nonce: str, model: ModelAdapter, metadata: Mapping[str, Any] | None = None
    ) -> TurnOutcome:
        """Confirm the pending action `nonce` names (what a UI's button sends)."""
        return self.conversations.turn(
            self.id, self.principal_id, model, reply=Reply.CONFIRM, nonce=nonce, metadata=metadata
        )

    def decline(
        self, nonce: str, model: ModelAdapter, metadata: Mapping[str, Any] | None = None
    ) -> TurnOutcome:
        """Decline the pending action `nonce` names; the agent carries on."""
        return self.conversations.turn(
            self.id, self.principal_id, model, reply=Reply.DECLINE, nonce=nonce, metadata=metadata
        )

    def record(self) -> ConversationRecord:
        return self.conversations.store.get(self.id)

    def close(self) -> None:
        self.conversations.close(self.id, self.principal_id)


class Conversations:
    """Starts conversations on a runtime and runs their turns.

    With `pins`, a conversation is pinned to the release `pins` chooses when it starts (a
    running rollout's arm, else the configuration in force) and every turn executes on that
    release's runtime; without, turns execute on `runtime` and a conversation records the
    release in force when it started."""

    def __init__(
        self,
        runtime: Runtime,
        store: ConversationStore,
        limits: ConversationLimits | None = None,
        pins: ReleasePins | None = None,
    ) -> None:
        self.runtime = runtime
        self.store = store
        self.limits = limits or ConversationLimits()
        self.pins = pins
        self._objects: dict[str, tuple[Mapping[str, Any], tuple[Message, ...], dict[str, Evidence]]]
        self._objects = {}
        self._lock = threading.Lock()

    def start(
        self,
        principal_id: str,
        agent: str | None = None,
        *,
        principal_source: str = "operator",
        asserted_by: str = "",
    ) -> Conversation:
        """A new conversation bound to `principal_id` and `agent` for good."""
        rt = self.runtime
        name = agent or rt.default_agent
        if name not in rt.agents:
            raise TetherError(ErrorCode.UNKNOWN_AGENT, f"no agent named {name!r}")
        principal = rt.principals.resolve(principal_id)
        now = rt.clock.now()
        conversation_id = rt.ids.new_id("conv")
        if self.pins is not None:
            release = self.pins.pin(conversation_id, principal.id)
        else:
            release = rt.release() if rt.release is not None else ""
        record = ConversationRecord(
            id=conversation_id,
            principal_id=principal.id,
            agent=name,
            domain=str(rt.domain.get("name", "")),
            principal_source=principal_source,
            asserted_by=asserted_by or principal_source,
            status="open",
            created_at=now,
            updated_at=now,
            expires_at=now + self.limits.max_age_s,
            turns=0,
            state={"messages": [], "evidence": {}, "tool_results": 0},
            pending=None,
            size=0,
            release=release,
        )
        self.store.create(record)
        return Conversation(self, record.id, principal.id)

    def open(self, conversation_id: str, principal_id: str) -> Conversation:
        """A handle on an existing conversation of `principal_id` (else FORBIDDEN)."""
        record = self.store.get(conversation_id)
        if record.principal_id != principal_id:
            raise TetherError(
                ErrorCode.CONVERSATION_FORBIDDEN, "the conversation belongs to another principal"
            )
        return Conversation(self, record.id, principal_id)

    def close(self, conversation_id: str, principal_id: str) -> None:
        self.open(conversation_id, principal_id)
        self.store.set_status(conversation_id, "closed", self.runtime.clock.now())

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
        waiting = record.state.get("waiting_run")
        if waiting:
            run = self.runtime.store.get_run(str(waiting), with_steps=False)
            if run.status is RunStatus.SUSPENDED:
                raise TetherError(
                    ErrorCode.APPROVAL_PENDING,
                    f"run {waiting} waits for a person's decision; nothing was changed",
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

    def turn(
        self,
        conversation_id: str,
        principal_id: str,
        model: ModelAdapter,
        *,
        text: str | None = None,
        reply: Reply = Reply.TEXT,
        nonce: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> TurnOutcome:
        """Run one turn of the conversation, exactly one at a time."""
        claim = self.begin_turn(conversation_id, principal_id, text=text, reply=reply, nonce=nonce)
        return self.run_claimed(claim, model, metadata)

    def begin_turn(
        self,
        conversation_id: str,
        principal_id: str,
        *,
        text: str | None = None,
        reply: Reply = Reply.TEXT,
        nonce: str | None = None,
    ) -> TurnClaim:
        """Check a turn and claim the conversation for it, without running it yet: a second
        turn is CONVERSATION_BUSY from this moment. Follow with `run_claimed` or
        `submit_claimed` (or `release`)."""
        rt = self.runtime
        now = rt.clock.now()
        # checked before the claim so that a stranger's or a bad turn never holds the
        # conversation; its messages and evidence are read once, under the claim
        record = self.store.get(conversation_id, with_state=False)
        self._usable(record, principal_id, now)
        self._reply(record, reply, nonce, text, now)
        # the claim is the turn's run's id, so a sweep finds a turn whose run has ended from
        # the conversation that run still holds (see `tether.workers.recovery`)
        claimant = rt.ids.new_id("run")
        if not self.store.claim(record.id, claimant, now, self.limits.busy_lease_s):
            raise TetherError(
                ErrorCode.CONVERSATION_BUSY, "another turn of this conversation is still running"
            )
        try:
            # checked again as it is now that the turn holds it: a turn that ended between the
            # first check and the claim may have replaced the pending action the nonce named
            record = self.store.get(conversation_id)
            self._usable(record, principal_id, now)
            kind = self._reply(record, reply, nonce, text, now)
        except BaseException:
            self.store.release(record.id, claimant)
            raise
        return TurnClaim(
            record.id, principal_id, claimant, record.turns + 1, reply, kind, text, record
        )

    def _fold_ended(self, run_id: str) -> bool:
        """Fold in the turn of `run_id` if that run has ended; False if there was nothing to
        fold (the run is still queued or running, or is gone)."""
        try:
            run = self.runtime.store.get_run(run_id)
        except TetherError as exc:
            if exc.code is not ErrorCode.RUN_NOT_FOUND:
                raise
            return False
        return fold_turn(self.store, run, self.runtime.clock.now())

    def run_claimed(
        self,
        claim: TurnClaim,
        model: ModelAdapter,
        metadata: Mapping[str, Any] | None = None,
    ) -> TurnOutcome:
        """Run a claimed turn to its end (once), in this thread."""
        try:
            # the claim holds the conversation, so the record read under it is current
            record = claim.record or self.store.get(claim.conversation_id)
            outcome = self._run(record, model, claim, metadata, self.runtime)
        except BaseException:
            self.release(claim)
            raise
        return outcome

    def submit_claimed(self, claim: TurnClaim, metadata: Mapping[str, Any] | None = None) -> Run:
        """Store a claimed turn's run QUEUED, for a worker to execute (see `tether.workers`).
        The worker reads what the turn continues from in the conversation, which the claim
        holds unchanged until the turn is folded in (`tether.conversations.turns`). If the run
        cannot be stored, the claim is let go."""
        try:
            record = self._prepared(claim.record or self.store.get(claim.conversation_id), claim)
            number = record.turns + 1
            context = TurnContext(
                record.id, number, pending=record.pending, reply=claim.reply, run_id=claim.claimant
            )
            pinned, _ = self._pinned(record)  # a release that cannot be had: the worker ends it
            return pinned.submit(self._request(record, claim, number, metadata, context))
        except BaseException:
            self.release(claim)
            raise

    def release(self, claim: TurnClaim) -> None:
        """Let go of a claimed turn that will not run."""
        self.store.release(claim.conversation_id, claim.claimant)

    def _run(
        self,
        record: ConversationRecord,
        model: ModelAdapter,
        claim: TurnClaim,
        metadata: Mapping[str, Any] | None,
        rt: Runtime,
    ) -> TurnOutcome:
        record = self._prepared(record, claim)
        state = record.state
        number = record.turns + 1
        history, evidence = self._parsed(record.id, state)
        context = TurnContext(
            conversation_id=record.id,
            turn=number,
            history=history,
            evidence=evidence,
            tool_results=int(state.get("tool_results", 0)),
            pending=record.pending,
            reply=claim.reply,
            run_id=claim.claimant,
        )
        request = self._request(record, claim, number, metadata, context)
        pinned, refusal = self._pinned(record)
        if refusal is None:
            run = pinned.run(request, model)
        else:  # recorded under the release it is pinned to, and ended before it starts
            run = pinned.conclude(pinned.submit(request).id, refusal)
        pending = pending_of(run)
        after = state_after(run, state)
        turn = TurnRecord(number, run.id, claim.kind, rt.clock.now())
        now = rt.clock.now()
        try:
            self.store.finish_turn(
                record.id, claim.claimant, turn, after, pending, now, record.state
            )
        except TetherError as exc:
            # a recovery sweep that saw the run end may have folded the turn in first
            if exc.code is not ErrorCode.CONVERSATION_BUSY:
                raise
            if self.store.conversation_of_run(run.id) != (record.id, number):
                raise
        return TurnOutcome(record.id, number, run, pending)

    def _pinned(self, record: ConversationRecord) -> tuple[Runtime, Decision | None]:
        """The runtime the conversation's turns execute on, and the refusal that ends a turn
        whose release cannot be had (else None)."""
        runtime_of = self.pins.runtime if self.pins is not None else None
        return pinned_runtime(self.runtime, runtime_of, record.release)

    def _prepared(self, record: ConversationRecord, claim: TurnClaim) -> ConversationRecord:
        """The record a claimed turn starts from: with the outcome of a run a person decided
        folded in and kept first, so that what the turn refers to is what the store holds."""
        state = self._settled(record.state, self.runtime)
        if state is record.state:
            return record
        return self.store.settle(record, claim.claimant, state, self.runtime.clock.now())

    @staticmethod
    def _request(
        record: ConversationRecord,
        claim: TurnClaim,
        number: int,
        metadata: Mapping[str, Any] | None,
        context: TurnContext,
    ) -> RunRequest:
        text = claim.text
        messages = [Message("user", text)] if claim.reply is Reply.TEXT and text is not None else []
        return RunRequest(
            principal_id=record.principal_id,
            messages=messages,
            agent=record.agent,
            # enough for a process that executes or resumes the run to rebuild the turn
            metadata={
                **(metadata or {}),
                "conversation": record.id,
                "turn": number,
                "reply": claim.reply.value,
                "claim": claim.claimant,
            },
            conversation=context,
        )

    def forget(self) -> None:
        """Drop what this process remembers of conversations' state (the next turn of each
        reads it back from the store, as another replica would)."""
        with self._lock:
            self._objects.clear()
        self.store.forget()

    def _parsed(
        self, conversation_id: str, state: Mapping[str, Any]
    ) -> tuple[tuple[Message, ...], dict[str, Evidence]]:
        """The state's messages and evidence as objects, parsed once per stored state (the
        store hands out the same state object until the conversation changes)."""
        with self._lock:
            found = self._objects.get(conversation_id)
        if found is not None and found[0] is state:
            return found[1], dict(found[2])
        messages = list(state.get("messages", ()))
        raw_evidence: Mapping[str, Any] = state.get("evidence", {})
        history: tuple[Message, ...] = ()
        evidence: dict[str, Evidence] = {}
        if found is not None:  # the state the last turn started from: a prefix of this one
            before, parsed, parsed_evidence = found
            kept = list(before.get("messages", ()))
            if messages[: len(kept)] == kept:
                history = parsed
            old_evidence = before.get("evidence", {})
            evidence = {
                k: e
                for k, e in parsed_evidence.items()
                if raw_evidence.get(k) == old_evidence.get(k)
            }
        history += tuple(Message.from_dict(m) for m in messages[len(history) :])
        for k, v in raw_evidence.items():
            if k not in evidence:
                evidence[k] = evidence_from_dict(v)
        with self._lock:
            self._objects.pop(conversation_id, None)
            self._objects[conversation_id] = (state, history, evidence)
            while len(self._objects) > 256:
                self._objects.pop(next(iter(self._objects)))
        return history, dict(evidence)

    @staticmethod
    def _settled(state: Mapping[str, Any], rt: Runtime) -> Mapping[str, Any]:
        """The state with the outcome of a turn that waited for a person folded in: what the
        run did once decided (the approved call's result, the model's answer) is part of the
        conversation from the next turn on."""
        waiting = state.get("waiting_run")
        if not waiting:
            return state
        run = rt.store.get_run(str(waiting))
        if run.status is not RunStatus.COMPLETED:
            return state  # `_usable` refuses a turn while a person has yet to decide
        settled = state_after(run, state)
        settled.pop("waiting_run", None)
        return settled

    def detail(self, conversation_id: str) -> dict[str, Any]:
        """The conversation with its turns, each with its run and steps. A turn whose run has
        ended but which its worker has not folded in yet is folded in first, so a client that
        saw the run end finds the conversation agreeing with it (its pending action too)."""
        record = self.store.get(conversation_id)
        if record.busy_run is not None and self._fold_ended(record.busy_run):
            record = self.store.get(conversation_id)
        out = record.summary(self.runtime.clock.now())
        turns = []
        for t in self.store.turns(conversation_id):
            run = self.runtime.store.get_run(t.run_id)
            turns.append(
                {
                    "turn": t.turn,
                    "kind": t.kind,
                    "created_at": t.created_at,
                    "release": run.release or None,
                    "release_changed": record.release_differs(run.release),
                    "run": run.to_dict(with_steps=True),
                }
            )
        out["turns"] = turns
        return out
