"""The state a conversation's turn starts from, for `Conversations`.

A turn continues from the messages and evidence its conversation holds, with the outcome of a
turn that waited for a person folded in first; the parsed messages and evidence are kept per
conversation so that the next turn parses only what was added. Kept apart from running the
turn (`tether.conversations.service`).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tether.conversations.store import ConversationRecord, ConversationStore
from tether.conversations.turns import pending_of, state_after
from tether.core.types import Evidence, Message, Run, RunStatus
from tether.runtime.pending import PendingAction
from tether.runtime.state import evidence_from_dict

if TYPE_CHECKING:
    from tether.conversations.admission import TurnClaim
    from tether.runtime.loop import Runtime


class TurnStateMixin:
    """What a turn starts from and what this process remembers of it, for `Conversations`
    (which provides what is declared)."""

    if TYPE_CHECKING:
        runtime: Runtime
        store: ConversationStore
        _objects: dict[str, tuple[Mapping[str, Any], tuple[Message, ...], dict[str, Evidence]]]
        _lock: threading.Lock

    def _prepared(self, record: ConversationRecord, claim: TurnClaim) -> ConversationRecord:
        """The record a claimed turn starts from: with the outcome of a run a person decided
        folded in and kept first, so that what the turn refers to is what the store holds."""
        state, pending = self._settled(record.state, record.pending, self.runtime)
        if state is record.state:
            return record
        now = self.runtime.clock.now()
        return self.store.settle(record, claim.claimant, state, pending, now)

    def _asked(self, record: ConversationRecord) -> ConversationRecord:
        """The record as a reply is checked against: once a run a person decided has ended,
        the action it left waiting for the customer's yes (if any) is the one pending."""
        run = self._decided_run(record.state, self.runtime)
        if run is None:
            return record
        return dataclasses.replace(record, pending=pending_of(run))

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
    def _decided_run(state: Mapping[str, Any], rt: Runtime, steps: bool = False) -> Run | None:
        """The run a person decided on, once it has ended (`_usable` refuses a turn before)."""
        waiting = state.get("waiting_run")
        if not waiting:
            return None
        run = rt.store.get_run(str(waiting), with_steps=steps)
        return run if run.status is RunStatus.COMPLETED else None

    @classmethod
    def _settled(
        cls, state: Mapping[str, Any], pending: PendingAction | None, rt: Runtime
    ) -> tuple[Mapping[str, Any], PendingAction | None]:
        """The state and pending action with the outcome of a turn that waited for a person
        folded in: what the run did once decided (the approved call's result, the model's
        answer, the next write it asks the customer to confirm) is part of the conversation
        from the next turn on."""
        run = cls._decided_run(state, rt, steps=True)
        if run is None:
            return state, pending
        settled = state_after(run, state)
        settled.pop("waiting_run", None)
        return settled, pending_of(run)
