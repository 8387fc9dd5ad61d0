"""The conversation repository: records, one turn at a time, and each turn's run."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, and_, insert, or_, select, update

from tether.conversations import entries
from tether.core.errors import ErrorCode, TetherError
from tether.core.types import RunStatus
from tether.runtime.pending import PendingAction
from tether.store.conversations_schema import conversation_turns, conversations
from tether.store.schema import runs

# a turn's run that has ended or waits for a person: its turn is due to be folded in
_SETTLED = (RunStatus.COMPLETED.value, RunStatus.SUSPENDED.value)
_LIVE = (RunStatus.QUEUED.value, RunStatus.RUNNING.value)  # a run that may still act


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class TurnRecord:
    """One turn: its number, its run and how it answered (text, confirm or decline)."""

    turn: int
    run_id: str
    kind: str
    created_at: float


@dataclass(frozen=True)
class ConversationRecord:
    """A conversation as stored: who, which agent, its state and its pending action."""

    id: str
    principal_id: str
    agent: str
    domain: str
    principal_source: str  # end_user_token | operator
    asserted_by: str
    status: str  # open | closed
    created_at: float
    updated_at: float
    expires_at: float
    turns: int
    state: Mapping[str, Any]
    pending: PendingAction | None
    size: int
    busy_run: str | None = None
    busy_until: float | None = None
    release: str = ""  # the release it started under ("" for one that predates releases)

    def summary(self, now: float) -> dict[str, Any]:
        """The conversation without its turns, as the API lists it."""
        return {
            "id": self.id,
            "principal": self.principal_id,
            "agent": self.agent,
            "domain": self.domain,
            "principal_source": self.principal_source,
            "asserted_by": self.asserted_by,
            "status": self.status_at(now),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "expires_at": self.expires_at,
            "turn_count": self.turns,
            "release": self.release or None,
            "pending_action": self.pending.public() if self.pending else None,
        }

    def release_differs(self, release: str) -> bool:
        """Whether a turn's run, which recorded `release`, ran under another release than the
        one the conversation started under (False when either is unknown)."""
        return bool(self.release and release and release != self.release)

    def status_at(self, now: float) -> str:
        if self.status == "open" and now >= self.expires_at:
            return "expired"
        return self.status


def _record(row: Any) -> ConversationRecord:
    pending = json.loads(row.pending) if row.pending else None
    return ConversationRecord(
        id=row.id,
        principal_id=row.principal_id,
        agent=row.agent,
        domain=row.domain,
        principal_source=row.principal_source,
        asserted_by=row.asserted_by,
        status=row.status,
        created_at=row.created_at,
        updated_at=row.updated_at,
        expires_at=row.expires_at,
        turns=row.turns,
        state=json.loads(row.state),  # the small part; get() adds messages and evidence
        pending=PendingAction.from_dict(pending) if pending else None,
        size=row.size,
        busy_run=row.busy_run,
        busy_until=row.busy_until,
        release=row.release_id or "",
    )


def _claim_lapsed(now: float) -> ColumnElement[bool]:
    """A turn's claim is past its time and its run is not queued or running (it ended, waits
    for a person, or was never stored): a long queue or a slow worker keeps the claim."""
    live = select(runs.c.id).where(runs.c.id == conversations.c.busy_run, runs.c.status.in_(_LIVE))
    return and_(conversations.c.busy_until < now, ~live.exists())


def _lapsed() -> TetherError:
    return TetherError(
        ErrorCode.CONVERSATION_BUSY,
        "this turn's hold on the conversation lapsed; its outcome is in its run, "
        "not in the conversation",
    )


class ConversationStore:
    """Conversations in the system of record (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine, cached: int = 256) -> None:
        self.engine = engine
        # the parsed state of recently used conversations, by (turns, updated_at): every
        # write of a state moves both, so a hit is the state as stored; a miss reads it
        self._states: OrderedDict[str, tuple[tuple[int, float], Mapping[str, Any]]] = OrderedDict()
        self._cached = cached
        self._lock = threading.Lock()

    def _remember(
        self, conversation_id: str, key: tuple[int, float], state: Mapping[str, Any]
    ) -> None:
        with self._lock:
            self._states[conversation_id] = (key, state)
            self._states.move_to_end(conversation_id)
            while len(self._states) > self._cached:
                self._states.popitem(last=False)

    def forget(self) -> None:
        """Drop the remembered states: every read goes to the database again."""
        with self._lock:
            self._states.clear()

    def _recalled(self, conversation_id: str, key: tuple[int, float]) -> Mapping[str, Any] | None:
        with self._lock:
            found = self._states.get(conversation_id)
        return found[1] if found is not None and found[0] == key else None

    def create(self, record: ConversationRecord) -> None:
        state = _dumps(entries.small_state(record.state))
        with self.engine.begin() as conn:
            conn.execute(
                insert(conversations).values(
                    id=record.id,
                    principal_id=record.principal_id,
                    agent=record.agent,
                    domain=record.domain,
                    principal_source=record.principal_source,
                    asserted_by=record.asserted_by,
                    status=record.status,
                    created_at=record.created_at,
                    updated_at=record.updated_at,
                    expires_at=record.expires_at,
                    turns=0,
                    state=state,
                    pending=None,
                    size=len(state.encode("utf-8")),
                    release_id=record.release or None,
                )
            )
            grown = entries.write(conn, record.id, None, record.state)
            if grown:
                conn.execute(
                    update(conversations)
                    .where(conversations.c.id == record.id)
                    .values(size=conversations.c.size + grown)
                )

    def get(self, conversation_id: str, with_state: bool = True) -> ConversationRecord:
        """The conversation, or CONVERSATION_NOT_FOUND; without its messages and evidence
        (the bulk of what it keeps) when `with_state` is False."""
        if not isinstance(conversation_id, str) or len(conversation_id) > 40:
            raise TetherError(ErrorCode.CONVERSATION_NOT_FOUND, "no such conversation")
        with self.engine.connect() as conn:
            row = conn.execute(
                select(conversations).where(conversations.c.id == conversation_id)
            ).first()
            if row is None:
                raise TetherError(
                    ErrorCode.CONVERSATION_NOT_FOUND, f"no conversation {conversation_id!r}"
                )
            record = _record(row)
            if not with_state:
                return record
            key = (record.turns, record.updated_at)
            state = self._recalled(conversation_id, key)
            if state is None:
                messages, evidence = entries.read(conn, conversation_id)
                state = {**record.state, "messages": messages, "evidence": evidence}
                self._remember(conversation_id, key, state)
        return dataclasses.replace(record, state=state)

    def find(
        self, principal_id: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[ConversationRecord]:
        query = select(conversations).order_by(
            conversations.c.updated_at.desc(), conversations.c.id
        )
        if principal_id is not None:
            query = query.where(conversations.c.principal_id == principal_id)
        with self.engine.connect() as conn:
            rows = conn.execute(query.limit(limit).offset(offset)).all()
        return [_record(r) for r in rows]

    def turns(self, conversation_id: str) -> list[TurnRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(conversation_turns)
                .where(conversation_turns.c.conversation_id == conversation_id)
                .order_by(conversation_turns.c.turn)
            ).all()
        return [TurnRecord(r.turn, r.run_id, r.kind, r.created_at) for r in rows]

    def conversation_of_run(self, run_id: str) -> tuple[str, int] | None:
        """The conversation and turn a run belongs to, if any."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(conversation_turns.c.conversation_id, conversation_turns.c.turn).where(
                    conversation_turns.c.run_id == run_id
                )
            ).first()
        return None if row is None else (str(row[0]), int(row[1]))

    def claim(self, conversation_id: str, claimant: str, now: float, lease_s: float) -> bool:
        """Hold the conversation for one turn; False when another turn holds it (its claim
        lapses after `lease_s` once its run is not queued or running, so a turn whose process
        died does not block it for good, while one whose run waits on a long queue does). A
        claim `claimant` already holds is taken again (a keyed retry of a turn whose process
        died before its run was stored names the same run)."""
        free = or_(
            conversations.c.busy_run.is_(None),
            _claim_lapsed(now),
            conversations.c.busy_run == claimant,
        )
        with self.engine.begin() as conn:
            done = conn.execute(
                update(conversations)
                .where(and_(conversations.c.id == conversation_id, free))
                .values(busy_run=claimant, busy_until=now + lease_s)
            )
        return done.rowcount == 1

    def ended_turns(self, limit: int) -> list[str]:
        """The runs of turns that still hold their conversation although the run has ended or
        waits for a person: turns nobody folded in (their process died first), at most `limit`.
        One statement: the held conversations, from their own index, each with its run."""
        held = conversations.c.busy_run
        settled = select(runs.c.id).where(runs.c.id == held, runs.c.status.in_(_SETTLED))
        query = select(held).where(held.is_not(None), settled.exists()).limit(limit)
        with self.engine.connect() as conn:
            return [str(r) for r in conn.execute(query).scalars()]

    def release(self, conversation_id: str, claimant: str) -> None:
        """Let go of a claim without recording a turn (the turn failed before it began)."""
        with self.engine.begin() as conn:
            conn.execute(
                update(conversations)
                .where(
                    and_(
                        conversations.c.id == conversation_id,
                        conversations.c.busy_run == claimant,
                    )
                )
                .values(busy_run=None, busy_until=None)
            )

    def finish_turn(
        self,
        conversation_id: str,
        claimant: str,
        turn: TurnRecord,
        state: Mapping[str, Any],
        pending: PendingAction | None,
        now: float,
        before: Mapping[str, Any] | None = None,
    ) -> None:
        """Record the turn, the state it leaves and its pending action, and let go, at once.
        `before` is the state the turn read under its claim: only what changed since is
        written (without it, all the conversation keeps is rewritten)."""
        with self.engine.begin() as conn:
            self._write(conn, conversation_id, claimant, state, before, now, pending, release=True)
            conn.execute(
                insert(conversation_turns).values(
                    conversation_id=conversation_id,
                    turn=turn.turn,
                    run_id=turn.run_id,
                    kind=turn.kind,
                    created_at=turn.created_at,
                )
            )
        self._remember(conversation_id, (turn.turn, now), state)

    def settle(
        self,
        record: ConversationRecord,
        claimant: str,
        state: Mapping[str, Any],
        pending: PendingAction | None,
        now: float,
    ) -> ConversationRecord:
        """Keep `state` and `pending` (the conversation with a run a person decided folded in,
        and the action that run asks the customer to confirm) before the claimed turn runs, so
        that what the turn refers to is what the store holds."""
        with self.engine.begin() as conn:
            self._write(conn, record.id, claimant, state, record.state, now, pending)
        self._remember(record.id, (record.turns, now), state)
        return dataclasses.replace(record, state=state, pending=pending, updated_at=now)

    def _write(
        self,
        conn: Connection,
        conversation_id: str,
        claimant: str,
        state: Mapping[str, Any],
        before: Mapping[str, Any] | None,
        now: float,
        pending: PendingAction | None,
        release: bool = False,
    ) -> None:
        """Write the state under the claim (CONVERSATION_BUSY if it lapsed: all rolls back)."""
        held = and_(conversations.c.id == conversation_id, conversations.c.busy_run == claimant)
        # the row is locked first: a second writer under the same claim (two parties folding
        # one turn in) waits here, then finds the claim gone, before it writes any entry
        locked = conn.execute(
            update(conversations).where(held).values(busy_run=conversations.c.busy_run)
        )
        if locked.rowcount != 1:
            raise _lapsed()
        body = _dumps(entries.small_state(state))
        small = len(body.encode("utf-8"))
        grown = entries.write(conn, conversation_id, before, state)
        if before is None:  # everything was rewritten: counted afresh
            size: Any = small + grown
        else:
            was = len(_dumps(entries.small_state(before)).encode("utf-8"))
            size = conversations.c.size + grown + small - was
        values: dict[str, Any] = {
            "state": body,
            "pending": _dumps(pending.to_dict()) if pending else None,
            "size": size,
            "updated_at": now,
        }
        if release:  # the turn ends: count it and let go
            values.update(turns=conversations.c.turns + 1, busy_run=None, busy_until=None)
        done = conn.execute(update(conversations).where(held).values(values))
        if done.rowcount != 1:  # the claim lapsed and another turn took the conversation
            raise _lapsed()

    def close(self, record: ConversationRecord, now: float) -> bool:
        """Close the conversation as `record` read it, dropping its pending action: False if a
        turn holds it or one was taken since (then what that turn may run is not known yet).
        One conditional UPDATE, so no turn claims the conversation between the check and it."""
        free = or_(conversations.c.busy_run.is_(None), _claim_lapsed(now))
        with self.engine.begin() as conn:
            done = conn.execute(
                update(conversations)
                .where(
                    conversations.c.id == record.id,
                    conversations.c.turns == record.turns,
                    free,
                )
                .values(status="closed", updated_at=now, pending=None)
            )
        return done.rowcount == 1

    def runs_of(self, conversation_ids: Sequence[str]) -> dict[str, str]:
        """run id -> conversation id, for the given conversations' turns."""
        if not conversation_ids:
            return {}
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(conversation_turns.c.run_id, conversation_turns.c.conversation_id).where(
                    conversation_turns.c.conversation_id.in_(list(conversation_ids))
                )
            ).all()
        return {str(r[0]): str(r[1]) for r in rows}
