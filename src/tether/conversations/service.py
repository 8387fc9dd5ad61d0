"""Conversations: threads the server holds, one principal and one agent each, a run per turn.

    conversation = runtime.converse(principal, agent)
    outcome = conversation.send("Cancel order #W4566809, I no longer need it", model)
    outcome = conversation.confirm(outcome.pending_action["nonce"], model)

Clients author only user messages (or press confirm / decline on a pending action); the
messages, tool results, evidence and pending action of earlier turns come from the store. One
turn at a time: a second concurrent turn is CONVERSATION_BUSY. Limits bound turns, age and the
size of what a conversation keeps.

`Conversations` starts conversations and runs their turns; what is too long to read inline is
its mixins: whether a turn may be taken (`tether.conversations.admission`) and the state it
starts from (`tether.conversations.turn_state`). The handle a caller holds and a turn's
outcome are in `tether.conversations.handle`.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from tether.conversations.admission import ConversationLimits, TurnAdmissionMixin, TurnClaim
from tether.conversations.handle import Conversation, TurnOutcome
from tether.conversations.store import ConversationRecord, ConversationStore, TurnRecord
from tether.conversations.turn_state import TurnStateMixin
from tether.conversations.turns import fold_turn, pending_of, state_after
from tether.core.errors import ErrorCode, TetherError
from tether.core.types import Decision, Evidence, Message, Run
from tether.models.base import ModelAdapter
from tether.runtime.pinned import pinned_runtime
from tether.runtime.seams import Reply, RunRequest, TurnContext

if TYPE_CHECKING:
    from tether.runtime.loop import Runtime
    from tether.store.in_flight import Quota


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


class Conversations(TurnAdmissionMixin, TurnStateMixin):
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
        """Close the conversation: no more turns, and its pending action is dropped. Refused
        while anything of it may still run, so that nothing runs for a closed conversation:
        APPROVAL_PENDING while its last turn waits for a person (reject the approval first),
        CONVERSATION_BUSY while a turn holds it or a run a person approved is under way."""
        self.open(conversation_id, principal_id)
        record = self.store.get(conversation_id)
        self._not_waiting(record)
        if not self.store.close(record, self.runtime.clock.now()):
            raise TetherError(
                ErrorCode.CONVERSATION_BUSY,
                "a turn of the conversation is under way; close it once the turn ends",
            )

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
        run_id: str | None = None,
    ) -> TurnClaim:
        """Check a turn and claim the conversation for it, without running it yet: a second
        turn is CONVERSATION_BUSY from this moment. Follow with `run_claimed` or
        `submit_claimed` (or `release`). `run_id`: the id the turn's run is to have (a retry
        under an Idempotency-Key names it so; a claim it already holds is taken over)."""
        rt = self.runtime
        now = rt.clock.now()
        # checked before the claim so that a stranger's or a bad turn never holds the
        # conversation; its messages and evidence are read once, under the claim
        record = self.store.get(conversation_id, with_state=False)
        self._usable(record, principal_id, now)
        self._reply(self._asked(record), reply, nonce, text, now)
        # the claim is the turn's run's id, so a sweep finds a turn whose run has ended from
        # the conversation that run still holds (see `tether.workers.recovery`)
        claimant = run_id or rt.ids.new_id("run")
        if not self._claim(record.id, claimant, now):
            raise TetherError(
                ErrorCode.CONVERSATION_BUSY, "another turn of this conversation is still running"
            )
        try:
            # checked again as it is now that the turn holds it: a turn that ended between the
            # first check and the claim may have replaced the pending action the nonce named
            record = self.store.get(conversation_id)
            self._usable(record, principal_id, now)
            kind = self._reply(self._asked(record), reply, nonce, text, now)
        except BaseException:
            self.store.release(record.id, claimant)
            raise
        return TurnClaim(
            record.id, principal_id, claimant, record.turns + 1, reply, kind, text, record
        )

    def _claim(self, conversation_id: str, claimant: str, now: float) -> bool:
        """Claim the conversation for a turn. A turn whose run has ended but which its worker
        has not folded in yet is folded in first, so a client that saw the run end can send
        the next message at once. The claim is tried again whoever folded it: the worker may
        fold it in (and let go) between the refused claim and this look."""
        lease = self.limits.busy_lease_s
        if self.store.claim(conversation_id, claimant, now, lease):
            return True
        held = self.store.get(conversation_id, with_state=False).busy_run
        if held is not None and held != claimant:
            self._fold_ended(held)  # False when the run goes on, or another party folded it
        return self.store.claim(conversation_id, claimant, now, lease)

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

    def submit_claimed(
        self,
        claim: TurnClaim,
        metadata: Mapping[str, Any] | None = None,
        quota: Quota | None = None,
    ) -> Run:
        """Store a claimed turn's run QUEUED, for a worker to execute (see `tether.workers`).
        The worker reads what the turn continues from in the conversation, which the claim
        holds unchanged until the turn is folded in (`tether.conversations.turns`). With
        `quota`, the run is stored only under it (`RunRequest.quota`). If the run cannot be
        stored (or the quota refuses it), the claim is let go."""
        try:
            record = self._prepared(claim.record or self.store.get(claim.conversation_id), claim)
            number = record.turns + 1
            context = TurnContext(
                record.id, number, pending=record.pending, reply=claim.reply, run_id=claim.claimant
            )
            pinned, _ = self._pinned(record)  # a release that cannot be had: the worker ends it
            return pinned.submit(self._request(record, claim, number, metadata, context, quota))
        except BaseException:
            self.release(claim)
            raise

    @staticmethod
    def claim_of(run: Run) -> TurnClaim:
        """The claim a turn's stored run was queued under, as its metadata keeps it."""
        meta = run.input.get("metadata", {})
        reply = Reply(str(meta.get("reply", Reply.TEXT.value)))
        said = [m.get("content") for m in run.input.get("messages", ()) if m.get("role") == "user"]
        text = str(said[-1]) if said else None
        return TurnClaim(
            str(meta.get("conversation", "")),
            run.principal_id,
            str(meta.get("claim", run.id)),
            int(meta.get("turn", 0)),
            reply,
            "text" if reply is Reply.TEXT else reply.value,
            text,
        )

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

    @staticmethod
    def _request(
        record: ConversationRecord,
        claim: TurnClaim,
        number: int,
        metadata: Mapping[str, Any] | None,
        context: TurnContext,
        quota: Quota | None = None,
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
            quota=quota,
        )

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
