"""Verifying the audit chain: every event's hash, every link, the head, every checkpoint.

The verifier streams events in sequence order and recomputes each hash from the stored
columns, so it detects a modified event (its hash no longer matches), a deleted one (a gap in
the sequence, or a chain shorter than its head), an inserted or reordered one (a broken link
or sequence), and a chain rewritten consistently up to some point (a signed checkpoint that no
longer matches). It names the first sequence number that fails.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Engine, select

from tether.access.audit import Checkpoint, checkpoint_payload, event_digest
from tether.access.canonical import b64url_decode
from tether.access.storage import connect
from tether.store.access_schema import GENESIS_HASH, HEAD_ID, audit_checkpoints, audit_head

BATCH = 5000
_EVENTS_SQL = (
    "SELECT seq, ts, kind, actor, run_id, data, prev_hash, hash FROM audit_events ORDER BY seq"
)


class HistoryKeys(Protocol):
    def history_key(self, kid: str) -> Ed25519PublicKey | None: ...


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of `tether audit verify`."""

    events: int
    ok: bool
    first_bad_seq: int | None
    checkpoints: int  # checkpoints whose signature and hash both check out
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "ok": self.ok,
            "first_bad_seq": self.first_bad_seq,
            "checkpoints": self.checkpoints,
        }


class _Walk:
    """The state of one pass over the chain."""

    def __init__(self, watch: set[int]) -> None:
        self.count = 0
        self.expected = 1
        self.prev = GENESIS_HASH
        self.bad: int | None = None
        self.reason = ""
        self.watch = watch  # sequence numbers that checkpoints name
        self.seen: dict[int, str] = {}

    def fail(self, seq: int, reason: str) -> None:
        """Record a failure; the lowest sequence number is the one reported."""
        if self.bad is None or seq < self.bad:
            self.bad, self.reason = seq, reason

    def feed(self, rows: Iterable[Sequence[Any]]) -> None:
        for seq, ts, kind, actor, run_id, data, prev_hash, digest in rows:
            self.count += 1
            if self.bad is None:
                if seq != self.expected:
                    self.fail(self.expected, f"event {self.expected} is missing")
                elif prev_hash != self.prev:
                    self.fail(seq, f"event {seq} does not link to the event before it")
                elif event_digest(seq, prev_hash, ts, kind, actor, run_id, data) != digest:
                    self.fail(seq, f"event {seq} does not match its hash")
            if seq in self.watch:
                self.seen[seq] = digest
            self.prev, self.expected = digest, seq + 1


def verify_chain(engine: Engine, keys: HistoryKeys) -> VerifyReport:
    """Check the whole chain and its checkpoints; never raises for a damaged chain."""
    c = audit_checkpoints.c
    with connect(engine) as conn:
        head = conn.execute(
            select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == HEAD_ID)
        ).first()
        points = [
            Checkpoint(*row)
            for row in conn.execute(select(c.seq, c.hash, c.ts, c.kid, c.signature).order_by(c.id))
        ]
        walk = _Walk({p.seq for p in points})
        result = conn.execution_options(stream_results=True, yield_per=BATCH).exec_driver_sql(
            _EVENTS_SQL
        )
        while batch := result.fetchmany(BATCH):
            walk.feed(batch)
    last = walk.expected - 1
    if head is None:
        walk.fail(1, "the chain head row is missing")
    elif walk.bad is None:
        head_seq, head_hash = int(head.seq), str(head.hash)
        if last < head_seq:
            walk.fail(last + 1, f"the chain ends at {last} but its head says {head_seq}")
        elif last > head_seq:
            walk.fail(
                head_seq + 1, f"events after the head ({head_seq}) were added outside the log"
            )
        elif walk.prev != head_hash:
            walk.fail(head_seq, "the last event does not match the chain head")
    good = _check_points(points, walk, keys)
    return VerifyReport(walk.count, walk.bad is None, walk.bad, good, walk.reason)


def _check_points(points: list[Checkpoint], walk: _Walk, keys: HistoryKeys) -> int:
    good = 0
    floor = 0  # the newest checkpoint proven so far: a rewrite must lie after it
    for point in sorted(points, key=lambda p: p.seq):
        key = keys.history_key(point.kid)
        try:
            if key is None:
                raise InvalidSignature
            key.verify(
                b64url_decode(point.signature), checkpoint_payload(point.seq, point.hash, point.ts)
            )
        except (InvalidSignature, ValueError):
            walk.fail(max(point.seq, 1), f"the checkpoint at {point.seq} has a bad signature")
            continue
        if point.seq == 0:
            good += 1
            continue
        stored = walk.seen.get(point.seq)
        if stored is None:
            walk.fail(point.seq, f"event {point.seq}, signed in a checkpoint, is missing")
        elif stored != point.hash:
            walk.fail(floor + 1, f"events {floor + 1}..{point.seq} differ from a signed checkpoint")
        else:
            good += 1
            floor = point.seq
    return good
