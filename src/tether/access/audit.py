"""The audit log: append-only and hash-chained, with signed checkpoints of the chain head.

Each event carries a sequence number, the previous event's hash and its own hash: SHA-256
over the event's canonical JSON (`{"actor","data","kind","prev","run_id","seq","ts"}`, keys
sorted, no whitespace, UTF-8). Appends lock the one chain-head row first (a row lock on
PostgreSQL; on SQLite the first write of a transaction takes the database's write lock), so
concurrent writers, threads or processes, extend one chain. Every `checkpoint_every` events,
at the first append after `checkpoint_interval_s` without one, and on demand, the head (seq,
hash, time) is signed with the current Ed25519 key, and the checkpoint is written to an
append-only sink outside the database (`tether.access.anchors`) around its transaction's
commit.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from json.encoder import encode_basestring
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, func, insert, select

from tether.access.anchors import PREFIX, AnchorRecord, CheckpointSink, anchor_on_commit
from tether.access.canonical import b64url, canonical_json
from tether.access.storage import begin, connect, driver_sql, run_raw
from tether.core.clock import Clock, SystemClock
from tether.core.errors import ErrorCode, TetherError
from tether.store.access_schema import (
    GENESIS_HASH,
    HEAD_ID,
    audit_checkpoints,
    audit_events,
    audit_head,
)

# The three statements of an append run on the driver's cursor: appends are on the hot path of
# every run, and SQLAlchemy's per-statement work would cost more than the statements. Reserving
# n sequence numbers and reading the previous hash is one locking statement.
_RESERVE = f"UPDATE audit_head SET seq = seq + ? WHERE id = {HEAD_ID} RETURNING seq, hash"
_INSERT_EVENTS = (
    "INSERT INTO audit_events (seq, ts, kind, actor, run_id, data, prev_hash, hash) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_DIGESTS_SINCE = "SELECT hash FROM audit_events WHERE seq > ? AND seq <= ? ORDER BY seq"
_LAST_CHECKPOINT = "SELECT seq FROM audit_checkpoints ORDER BY id DESC LIMIT 1"
_SET_HEAD_HASH = f"UPDATE audit_head SET hash = ?, updated_at = ? WHERE id = {HEAD_ID}"


def event_digest(
    seq: int, prev_hash: str, ts: int, kind: str, actor: str, run_id: str, data: str
) -> str:
    """The hash of one event. `data` is the stored canonical JSON text of the event's data, so
    the string below is exactly the canonical JSON of the whole event, built without parsing."""
    text = (
        '{"actor":'
        + encode_basestring(actor)
        + ',"data":'
        + data
        + ',"kind":'
        + encode_basestring(kind)
        + ',"prev":'
        + encode_basestring(prev_hash)
        + ',"run_id":'
        + encode_basestring(run_id)
        + ',"seq":'
        + str(seq)
        + ',"ts":'
        + str(ts)
        + "}"
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def checkpoint_payload(seq: int, head_hash: str, ts: int) -> bytes:
    """The bytes a checkpoint signature covers."""
    return canonical_json({"hash": head_hash, "seq": seq, "ts": ts}).encode("utf-8")


@dataclass(frozen=True)
class AuditEvent:
    """An event to append: what happened (`kind`), who did it, to which run, and the facts."""

    kind: str
    actor: str
    data: Mapping[str, Any] = field(default_factory=dict)
    run_id: str = ""


@dataclass(frozen=True)
class StoredEvent:
    """An event as the chain holds it."""

    seq: int
    ts: int  # microseconds since the epoch
    kind: str
    actor: str
    run_id: str
    data: str  # canonical JSON
    prev_hash: str
    hash: str

    def to_dict(self) -> dict[str, Any]:
        """The event for display. A column rewritten into something the log never writes (data
        that is not a JSON object, a time that is no time, a number or bytes where text goes)
        is shown as stored and named in `damaged`, so a page listing it still answers."""
        damaged: list[str] = []
        data = _json_object(self.data)
        if data is None:
            damaged.append("data is not a JSON object")
        at = seconds(self.ts)
        if at is None:
            damaged.append("ts is not a time")
        if type(self.seq) is not int:
            damaged.append("seq is not an integer")
        texts = {
            name: getattr(self, name) for name in ("kind", "actor", "run_id", "prev_hash", "hash")
        }
        damaged += [f"{name} is not text" for name, v in texts.items() if not isinstance(v, str)]
        return {
            "seq": self.seq if type(self.seq) is int else repr(self.seq),
            "at": at,
            **{name: v if isinstance(v, str) else repr(v) for name, v in texts.items()},
            "data": data if data is not None else repr(self.data),
            "damaged": "; ".join(damaged),
        }


def seconds(ts: object) -> float | None:
    """A stored time in microseconds as seconds since the epoch; None when it is not an
    integer or names no date a calendar can show."""
    if type(ts) is not int:
        return None
    try:
        datetime.fromtimestamp(ts / 1e6, UTC)
    except (OverflowError, ValueError, OSError):
        return None
    return ts / 1e6


def _json_object(data: object) -> dict[str, Any] | None:
    """The stored data as the object it encodes, or None when it encodes none."""
    if not isinstance(data, str):
        return None
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement that the chain had `hash` at `seq`."""

    seq: int
    hash: str
    ts: int
    kid: str
    signature: str  # base64url

    def to_dict(self) -> dict[str, Any]:
        # a rewritten row is shown as stored: verification names it
        return {"seq": self.seq, "hash": self.hash, "at": seconds(self.ts), "key_id": self.kid}


class CheckpointSigner(Protocol):
    def ready(self) -> bool:
        """Whether a key is at hand to sign with at once."""
        ...

    def active_kid(self, conn: Connection | None = None) -> str:
        """The signing key's id; makes the key (in `conn`, audited) if there is none yet."""
        ...

    def sign(self, payload: bytes, conn: Connection | None = None) -> tuple[str, bytes]:
        """(key id, Ed25519 signature) over `payload`."""
        ...


class AuditLog:
    """Appends events to the chain and signs checkpoints of its head."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock | None = None,
        checkpoint_every: int = 1000,
        signer: CheckpointSigner | None = None,
        checkpoint_interval_s: float = 300.0,
        sink: CheckpointSink | None = None,
    ) -> None:
        self.engine = engine
        self.sink = sink  # where each checkpoint is anchored outside the database
        self.clock = clock or SystemClock()
        self.checkpoint_every = checkpoint_every
        self.checkpoint_interval_s = checkpoint_interval_s
        self.signer = signer
        self._last_checkpoint: int | None = None  # µs; read from the store on first append

    def append(self, events: Sequence[AuditEvent]) -> int:
        """Append `events` in their own transaction; returns the last sequence number."""
        with begin(self.engine) as conn:
            return self.append_in(conn, events)

    def append_in(
        self, conn: Connection, events: Sequence[AuditEvent], *, allow_checkpoint: bool = True
    ) -> int:
        """Append `events` inside the caller's transaction (they commit or vanish with it)."""
        if not events:
            return self.head(conn)[0]
        count = len(events)
        datas = [canonical_json(dict(event.data)) for event in events]  # before the lock
        last, prev = self._reserve(conn, count)
        first = last - count + 1
        ts = int(self.clock.now() * 1_000_000)
        rows = []
        for offset, (event, data) in enumerate(zip(events, datas, strict=True)):
            seq = first + offset
            digest = event_digest(seq, prev, ts, event.kind, event.actor, event.run_id, data)
            rows.append((seq, ts, event.kind, event.actor, event.run_id, data, prev, digest))
            prev = digest
        cursor = conn.connection.cursor()
        try:
            cursor.executemany(driver_sql(conn, _INSERT_EVENTS), rows)
        finally:
            cursor.close()
        run_raw(conn, _SET_HEAD_HASH, (prev, ts / 1e6))
        if (
            allow_checkpoint
            and self.signer is not None
            and self.signer.ready()  # a periodic checkpoint never waits for a key to be made
            and self._checkpoint_due(conn, first, last, ts)
        ):
            last = self._sign_head(conn, ts).seq
        return last

    def _checkpoint_due(self, conn: Connection, first: int, last: int, ts: int) -> bool:
        every = self.checkpoint_every
        if last // every > (first - 1) // every:
            return True
        if self._last_checkpoint is None:
            newest = conn.execute(select(func.max(audit_checkpoints.c.ts))).scalar()
            self._last_checkpoint = int(newest) if newest is not None else ts
        return ts - self._last_checkpoint > self.checkpoint_interval_s * 1_000_000

    def checkpoint(self) -> Checkpoint:
        """Sign the current chain head now (on demand)."""
        if self.signer is None:
            raise TetherError(ErrorCode.CONFIG_INVALID, "the audit log has no signing key ring")
        self.signer.active_kid()  # make or load the key before taking the chain's lock
        with begin(self.engine) as conn:
            self._reserve(conn, 0)  # locks the head while signing
            return self._sign_head(conn, int(self.clock.now() * 1_000_000))

    def checkpoint_if_behind(self) -> Checkpoint | None:
        """Sign the head if events arrived since the last checkpoint (run on a timer by a
        server, so that on a quiet system the unsigned tail does not stay open until the next
        event); None when there is nothing new or no signing key yet."""
        if self.signer is None or not self.signer.ready():
            return None
        with connect(self.engine) as conn:
            seq, _ = self.head(conn)
            signed = conn.execute(select(func.max(audit_checkpoints.c.seq))).scalar()
        if seq == 0 or (signed is not None and int(signed) >= seq):
            return None
        return self.checkpoint()

    def lock(self, conn: Connection) -> tuple[int, str]:
        """Lock the chain head until `conn`'s transaction ends; returns (seq, hash)."""
        return self._reserve(conn, 0)

    def head(self, conn: Connection | None = None) -> tuple[int, str]:
        """(last sequence number, its hash); (0, genesis) for an empty chain."""
        query = select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == HEAD_ID)
        if conn is not None:
            row = conn.execute(query).first()
        else:
            with connect(self.engine) as own:
                row = own.execute(query).first()
        return (0, GENESIS_HASH) if row is None else (int(row.seq), str(row.hash))

    def events(
        self, run_id: str | None = None, after_seq: int = 0, limit: int = 100
    ) -> list[StoredEvent]:
        """Events in sequence order, optionally of one run."""
        query = select(audit_events).where(audit_events.c.seq > after_seq)
        if run_id is not None:
            query = query.where(audit_events.c.run_id == run_id)
        query = query.order_by(audit_events.c.seq).limit(limit)
        with connect(self.engine) as conn:
            rows = conn.execute(query).all()
        return [StoredEvent(*row) for row in rows]

    def checkpoints(self) -> list[Checkpoint]:
        """Every checkpoint, oldest first."""
        c = audit_checkpoints.c
        query = select(c.seq, c.hash, c.ts, c.kid, c.signature).order_by(c.id)
        with connect(self.engine) as conn:
            return [Checkpoint(*row) for row in conn.execute(query).all()]

    # -- internals ----------------------------------------------------------------------

    @staticmethod
    def _reserve(conn: Connection, count: int) -> tuple[int, str]:
        found = run_raw(conn, _RESERVE, (count,), fetch=True)
        row = found[0] if found else None
        if row is None:
            raise TetherError(
                ErrorCode.INTERNAL, "the audit chain head row is missing; run `tether audit verify`"
            )
        return int(row[0]), str(row[1])

    def _sign_head(self, conn: Connection, ts: int) -> Checkpoint:
        """Sign the head as it stands once a signing key exists (making one appends an event)."""
        assert self.signer is not None
        self.signer.active_kid(conn)
        seq, head_hash = self.head(conn)
        kid, signature = self.signer.sign(checkpoint_payload(seq, head_hash, ts), conn)
        point = Checkpoint(seq, head_hash, ts, kid, b64url(signature))
        self._last_checkpoint = ts
        # the checkpoint before this one is in the sink (its prepared record was written before
        # it committed), so this record's digests start after it
        previous = run_raw(conn, _LAST_CHECKPOINT, fetch=True) if self.sink is not None else []
        conn.execute(
            insert(audit_checkpoints).values(
                seq=seq, hash=head_hash, ts=ts, kid=kid, signature=point.signature
            )
        )
        if self.sink is not None:
            prior = previous[0][0] if previous else 0
            after = min(prior, seq) if type(prior) is int else seq
            found = run_raw(conn, _DIGESTS_SINCE, (after, seq), fetch=True)
            digests = [d[0][:PREFIX] for d in found]
            if len(digests) != seq - after:  # a gap: anchor the head alone, never misaligned
                after, digests = seq, []
            record = AnchorRecord(seq, head_hash, kid, point.signature, ts, after, digests)
            anchor_on_commit(conn, self.sink, record)
        return point
