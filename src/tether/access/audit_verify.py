"""Verifying the audit chain: every event's hash, every link, the head, every checkpoint, and
the database's checkpoints against the sink that anchors them outside the database.

The verifier streams events in sequence order and recomputes each hash from the stored
columns, so it detects a modified event (its hash no longer matches), a deleted one (a gap in
the sequence, or a chain shorter than its head), an inserted or reordered one (a broken link
or sequence). A chain rewritten and re-hashed consistently from some event on is caught by
the sink: its records carry each event's hash as it was when anchored, so the first event
whose hash differs is named exactly. Checkpoints verify only with keys pinned in the trust
file; the database's checkpoints must match the sink's that bind it (those confirmed committed,
and those prepared that it holds), one for one and in order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Engine, select

from tether.access.anchors import COMMITTED, PREPARED, AnchorRecord, CheckpointSink
from tether.access.audit import Checkpoint, checkpoint_payload, event_digest
from tether.access.canonical import b64url_decode
from tether.access.storage import connect
from tether.store.access_schema import GENESIS_HASH, HEAD_ID, audit_checkpoints, audit_head

BATCH = 5000
_EVENTS_SQL = (
    "SELECT seq, ts, kind, actor, run_id, data, prev_hash, hash FROM audit_events ORDER BY seq"
)


class HistoryKeys(Protocol):
    def history_key(self, kid: str) -> Ed25519PublicKey | None:
        """The pinned key `kid`, or None when the trust file does not name it."""
        ...


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of `tether audit verify`."""

    events: int
    ok: bool
    first_bad_seq: int | None
    checkpoints: int  # database checkpoints whose signature (by a pinned key) and hash hold
    reason: str = ""
    anchored: int = 0  # database checkpoints matched one for one in the sink
    checkpoints_missing: int = 0  # in the sink but not in the database (deleted or altered)
    checkpoints_unanchored: int = 0  # in the database but not in the sink
    checkpoints_out_of_order: int = 0  # database rows in another order than the sink's
    # prepared in the sink, never confirmed committed, not in the database: a process stopped
    # between the two (relied on for nothing)
    checkpoints_unconfirmed: int = 0
    untrusted_keys: list[str] = field(default_factory=list)  # signing key ids not pinned
    # when a rewrite can be placed only between two checkpoints: [first, last] candidates
    bad_range: tuple[int, int] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "ok": self.ok,
            "first_bad_seq": self.first_bad_seq,
            "checkpoints": self.checkpoints,
            "anchored": self.anchored,
            "checkpoints_missing": self.checkpoints_missing,
            "checkpoints_unanchored": self.checkpoints_unanchored,
            "checkpoints_out_of_order": self.checkpoints_out_of_order,
            "checkpoints_unconfirmed": self.checkpoints_unconfirmed,
            "untrusted_keys": self.untrusted_keys,
            "bad_range": list(self.bad_range) if self.bad_range else None,
        }


class _Anchors:
    """The sink's per-event digests, looked up in sequence order as the walk advances."""

    def __init__(self, records: Sequence[AnchorRecord]) -> None:
        self._records = sorted(records, key=lambda r: r.seq)
        self._at = 0  # the first record that may still cover the walk's events

    def at(self, seq: int) -> str | None:
        """The anchored digest (or its prefix) of event `seq`, if a record covers it."""
        records = self._records
        while self._at < len(records) and records[self._at].seq < seq:
            self._at += 1
        if self._at == len(records):
            return None
        record = records[self._at]
        if seq == record.seq and not record.events:
            return record.hash
        offset = seq - record.after - 1
        return record.events[offset] if 0 <= offset < len(record.events) else None


class _Walk:
    """The state of one pass over the chain."""

    def __init__(self, watch: set[int], anchors: _Anchors) -> None:
        self.count = 0
        self.expected = 1
        self.prev = GENESIS_HASH
        self.bad: int | None = None
        self.reason = ""
        self.watch = watch  # sequence numbers that checkpoints name
        self.seen: dict[int, str] = {}
        self.anchors = anchors

    def fail(self, seq: int, reason: str) -> None:
        """Record a failure; the lowest sequence number is the one reported."""
        if self.bad is None or seq < self.bad:
            self.bad, self.reason = seq, reason

    def feed(self, rows: Iterable[Sequence[Any]]) -> None:
        for seq, ts, kind, actor, run_id, data, prev_hash, digest in rows:
            self.count += 1
            if type(seq) is not int:  # SQLite keeps any type, and sorts text after numbers
                self.fail(
                    self.expected, f"an event's sequence number is not an integer: {seq!r:.40}"
                )
                continue
            if self.bad is None:
                if seq != self.expected:
                    self.fail(self.expected, f"event {self.expected} is missing")
                elif prev_hash != self.prev:
                    self.fail(seq, f"event {seq} does not link to the event before it")
                elif not _matches(seq, prev_hash, ts, kind, actor, run_id, data, digest):
                    self.fail(seq, f"event {seq} does not match its hash")
                else:
                    anchored = self.anchors.at(seq)
                    if anchored is not None and not digest.startswith(anchored):
                        self.fail(seq, f"event {seq} differs from the hash anchored in the sink")
            if seq in self.watch:
                self.seen[seq] = digest
            self.prev, self.expected = digest, seq + 1


def _matches(
    seq: int, prev_hash: str, ts: int, kind: str, actor: str, run_id: str, data: str, digest: str
) -> bool:
    """Whether the event's content hashes to `digest`; False (never an error) for a row whose
    columns were rewritten with values of another type (bytes, numbers)."""
    try:
        return event_digest(seq, prev_hash, ts, kind, actor, run_id, data) == digest
    except (TypeError, ValueError):
        return False


def _signed_by(keys: HistoryKeys, kid: str, signature: str, payload: bytes) -> str:
    """'ok', 'untrusted' (no pinned key `kid`) or 'bad' (the signature does not hold)."""
    key = keys.history_key(kid)
    if key is None:
        return "untrusted"
    try:
        key.verify(b64url_decode(signature), payload)
    except (InvalidSignature, ValueError):
        return "bad"
    return "ok"


def verify_chain(
    engine: Engine, keys: HistoryKeys, sink: CheckpointSink | None = None
) -> VerifyReport:
    """Check the whole chain, its checkpoints and their anchors; never raises for damage."""
    untrusted: set[str] = set()
    records, sink_problem = _sink_records(sink, keys, untrusted)
    c = audit_checkpoints.c
    with connect(engine) as conn:
        head = conn.execute(
            select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == HEAD_ID)
        ).first()
        points = [
            Checkpoint(*row)
            for row in conn.execute(select(c.seq, c.hash, c.ts, c.kid, c.signature).order_by(c.id))
        ]
        records, unconfirmed = _binding(records, points)
        walk = _Walk({p.seq for p in points}, _Anchors(records))
        result = conn.execution_options(stream_results=True, yield_per=BATCH).exec_driver_sql(
            _EVENTS_SQL
        )
        while batch := result.fetchmany(BATCH):
            walk.feed(batch)
    last = walk.expected - 1
    if head is None:
        walk.fail(1, "the chain head row is missing")
    elif walk.bad is None:
        head_seq, head_hash = head.seq, head.hash
        if type(head_seq) is not int:
            walk.fail(
                last + 1, f"the chain head's sequence number is not an integer: {head_seq!r:.40}"
            )
        elif last < head_seq:
            walk.fail(last + 1, f"the chain ends at {last} but its head says {head_seq}")
        elif last > head_seq:
            walk.fail(
                head_seq + 1, f"events after the head ({head_seq}) were added outside the log"
            )
        elif walk.prev != head_hash:
            walk.fail(head_seq, "the last event does not match the chain head")
    anchored_to = max((r.seq for r in records), default=0)
    if anchored_to > last:
        walk.fail(last + 1, f"events {last + 1}..{anchored_to}, anchored in the sink, are missing")
    good, bad_range = _check_points(points, walk, keys, untrusted)
    cross = _cross_check(points, records)
    problems = [
        (cross.missing, f"{cross.missing} checkpoints in the sink are missing from the database"),
        (cross.unanchored, f"{cross.unanchored} checkpoints in the database are not in the sink"),
        (cross.out_of_order, f"{cross.out_of_order} checkpoints are out of order"),
        (len(untrusted), f"signed by keys not in the trust file: {', '.join(sorted(untrusted))}"),
        (sink_problem, sink_problem),
    ]
    reasons = [walk.reason] if walk.reason else []
    reasons += [text for count, text in problems if count]
    ok = walk.bad is None and not reasons
    return VerifyReport(
        events=walk.count,
        ok=ok,
        first_bad_seq=walk.bad,
        checkpoints=good,
        reason="; ".join(reasons),
        anchored=cross.anchored,
        checkpoints_missing=cross.missing,
        checkpoints_unanchored=cross.unanchored,
        checkpoints_out_of_order=cross.out_of_order,
        checkpoints_unconfirmed=unconfirmed,
        untrusted_keys=sorted(untrusted),
        bad_range=bad_range if walk.bad is not None and bad_range else None,
    )


def _sink_records(
    sink: CheckpointSink | None, keys: HistoryKeys, untrusted: set[str]
) -> tuple[list[AnchorRecord], str]:
    """The sink's records whose signatures hold, and what was wrong with the rest."""
    if sink is None:
        return [], ""
    try:
        found = list(sink.records())
    except (ValueError, OSError) as exc:
        return [], f"the checkpoint sink cannot be read: {exc}"
    kept: list[AnchorRecord] = []
    bad: list[int] = []
    for record in found:
        payload = checkpoint_payload(record.seq, record.hash, record.ts)
        verdict = _signed_by(keys, record.key_id, record.signature, payload)
        if verdict == "ok":
            kept.append(record)
        elif verdict == "untrusted":
            untrusted.add(record.key_id)
        else:
            bad.append(record.seq)
    problem = f"the sink's checkpoints at {bad} have bad signatures" if bad else ""
    return kept, problem


def _binding(
    records: list[AnchorRecord], points: list[Checkpoint]
) -> tuple[list[AnchorRecord], int]:
    """The sink's records that bind the database, in sink order, and how many do not.

    A checkpoint confirmed committed binds for good (with the digests its prepared record
    carries). One only prepared binds while the database holds it; otherwise its process
    stopped before its database committed, or after, and a database writer removed it since:
    the two look alike, so it is relied on for nothing (the next confirmed checkpoint signs
    what the database holds over its span)."""
    held = {(p.seq, p.hash, p.ts, p.kid, p.signature) for p in points}
    confirmed = {r.identity for r in records if r.stage == COMMITTED}
    prepared = {r.identity for r in records if r.stage == PREPARED}
    kept: list[AnchorRecord] = []
    unconfirmed = 0
    for record in records:
        if record.stage == PREPARED:
            if record.identity in confirmed or record.identity in held:
                kept.append(record)
            else:
                unconfirmed += 1
        elif record.identity not in prepared:  # written before records had two stages
            kept.append(record)
    return kept, unconfirmed


def _check_points(
    points: list[Checkpoint], walk: _Walk, keys: HistoryKeys, untrusted: set[str]
) -> tuple[int, tuple[int, int] | None]:
    good = 0
    floor = 0  # the newest checkpoint proven so far: a rewrite must lie after it
    bad_range: tuple[int, int] | None = None
    for point in sorted(_well_formed(points, walk), key=lambda p: p.seq):
        payload = checkpoint_payload(point.seq, point.hash, point.ts)
        verdict = _signed_by(keys, point.kid, point.signature, payload)
        if verdict != "ok":
            if verdict == "untrusted":
                untrusted.add(point.kid)
            what = "a key not in the trust file" if verdict == "untrusted" else "a bad signature"
            walk.fail(max(point.seq, 1), f"the checkpoint at {point.seq} has {what}")
            continue
        if point.seq == 0:
            good += 1
            continue
        stored = walk.seen.get(point.seq)
        if stored is None:
            walk.fail(point.seq, f"event {point.seq}, signed in a checkpoint, is missing")
        elif stored != point.hash:
            if walk.bad is None or walk.bad > point.seq:
                # nothing anchored names the event: only the checkpoint's span is known
                walk.fail(
                    floor + 1, f"events {floor + 1}..{point.seq} differ from a signed checkpoint"
                )
                bad_range = (floor + 1, point.seq)
        else:
            good += 1
            floor = point.seq
    return good, bad_range


def _well_formed(points: list[Checkpoint], walk: _Walk) -> list[Checkpoint]:
    """The checkpoint rows whose columns have the types the log writes; each other row fails
    the walk just after the checkpoint row before it, since its own seq says nothing."""
    kept: list[Checkpoint] = []
    after = 0
    for point in points:
        texts = (point.hash, point.kid, point.signature)
        if type(point.seq) is int and type(point.ts) is int and all(type(t) is str for t in texts):
            kept.append(point)
            after = point.seq
        else:
            walk.fail(after + 1, f"the checkpoint after {after} is not one the log wrote")
    return kept


@dataclass(frozen=True)
class _Cross:
    anchored: int
    missing: int
    unanchored: int
    out_of_order: int


def _cross_check(points: list[Checkpoint], records: list[AnchorRecord]) -> _Cross:
    """Match the database's checkpoints (in row order) with the sink's (in append order)."""
    index = {(r.seq, r.hash, r.ts, r.key_id, r.signature): i for i, r in enumerate(records)}
    positions: list[int] = []
    unanchored = 0
    for point in points:
        at = index.get((point.seq, point.hash, point.ts, point.kid, point.signature))
        if at is None:
            unanchored += 1
        else:
            positions.append(at)
    matched = set(positions)
    missing = sum(1 for i in range(len(records)) if i not in matched)
    out_of_order = sum(1 for a, b in pairwise(positions) if b <= a)
    return _Cross(len(matched), missing, unanchored, out_of_order)
