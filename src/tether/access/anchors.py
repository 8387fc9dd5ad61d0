"""Checkpoints anchored outside the system of record, in an append-only sink.

Every signed checkpoint is also written to a sink that a database writer cannot reach. The
sink's record carries what the checkpoint signs (seq, chain head hash, time, key id,
signature) and a short digest of every event since the previous record, so `tether audit
verify` can name the first event a rewrite changed, not just the checkpoint it broke.

Each checkpoint reaches the sink twice: `prepared` (with the digests) before the database
commits, so a sink that cannot be written stops the commit, and `committed` once the database
has committed. A committed record binds the database for good: its checkpoint and events must
be there. A prepared one without its committed record binds only while the database holds its
checkpoint; otherwise its process stopped (or lost the database) between the two writes, and
since a database writer could also have removed it since, nothing it names is relied on.

The default sink is a local file of JSON lines, each written with one `write` and `fsync`ed.
A deployment plugs in storage it cannot rewrite by implementing `CheckpointSink`: object
storage with a retention lock (S3 Object Lock in compliance mode, GCS bucket lock, Azure
immutable blobs) writing one object per record, a WORM volume, or a log shipped to another
account.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Connection, event
from sqlalchemy.exc import DBAPIError

from tether.core.errors import ErrorCode, TetherError

PREFIX = 16  # hex digits of each event's hash kept in a record: enough to name an event
PREPARED = "prepared"  # written before the database commits the checkpoint
COMMITTED = "committed"  # written after it committed (records from before stages count so)

log = logging.getLogger("tether.access")


@dataclass(frozen=True)
class AnchorRecord:
    """One checkpoint as the sink holds it."""

    seq: int
    hash: str
    key_id: str
    signature: str  # base64url
    ts: int  # microseconds since the epoch, as signed
    after: int = 0  # `events` are the digests of events after..seq
    events: list[str] = field(default_factory=list)
    stage: str = COMMITTED

    @property
    def identity(self) -> tuple[int, str, int, str, str]:
        """What a checkpoint row must equal to be this record."""
        return (self.seq, self.hash, self.ts, self.key_id, self.signature)

    def committed(self) -> AnchorRecord:
        """The record that says this prepared checkpoint's transaction committed."""
        return replace(self, after=self.seq, events=[], stage=COMMITTED)

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "hash": self.hash,
            "key_id": self.key_id,
            "signature": self.signature,
            "at": self.ts / 1e6,
            "ts": self.ts,
            "after": self.after,
            "events": self.events,
            "stage": self.stage,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> AnchorRecord:
        """Raises ValueError (or KeyError, TypeError) when `raw` is not a record."""
        events = raw.get("events", [])
        if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
            raise ValueError("events must be a list of strings")
        stage = raw.get("stage", COMMITTED)
        if stage not in (PREPARED, COMMITTED):
            raise ValueError(f"unknown stage {stage!r}")
        return cls(
            seq=int(raw["seq"]),
            hash=str(raw["hash"]),
            key_id=str(raw["key_id"]),
            signature=str(raw["signature"]),
            ts=int(raw["ts"]),
            after=int(raw.get("after", 0)),
            events=list(events),
            stage=stage,
        )

    def same_checkpoint(self, seq: int, head: str, ts: int, kid: str, signature: str) -> bool:
        """Whether a database checkpoint row is this record."""
        return self.identity == (seq, head, ts, kid, signature)


class CheckpointSink(Protocol):
    """Append-only storage for checkpoints, out of the database writer's reach."""

    def append(self, record: AnchorRecord) -> None:
        """Store `record` durably before returning; raise STORE_UNAVAILABLE when it cannot."""
        ...

    def last_seq(self) -> int:
        """The highest seq anchored so far (0 for none)."""
        ...

    def records(self) -> Iterator[AnchorRecord]:
        """Every record, oldest first; ValueError on a damaged one."""
        ...


class FileCheckpointSink:
    """JSON lines appended to a file, `fsync`ed; appends are serialised with `flock`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._last: tuple[int, int] | None = None  # (file size, last seq) read last time

    def describe(self) -> str:
        return f"the checkpoint sink {self.path}"

    def append(self, record: AnchorRecord) -> None:
        line = (json.dumps(record.to_dict(), separators=(",", ":")) + "\n").encode("utf-8")
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                os.write(fd, line)
                os.fsync(fd)
                self._last = (os.fstat(fd).st_size, max(record.seq, self._cached_last()))
            finally:
                os.close(fd)  # closing releases the lock
        except OSError as exc:
            raise TetherError(
                ErrorCode.STORE_UNAVAILABLE, f"{self.describe()} cannot be written: {exc}"
            ) from None

    def last_seq(self) -> int:
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return 0
        except OSError as exc:
            raise TetherError(
                ErrorCode.STORE_UNAVAILABLE, f"{self.describe()} cannot be read: {exc}"
            ) from None
        if self._last is not None and self._last[0] == size:
            return self._last[1]
        try:
            last = self._tail_seq(size)
        except OSError as exc:
            raise TetherError(
                ErrorCode.STORE_UNAVAILABLE, f"{self.describe()} cannot be read: {exc}"
            ) from None
        self._last = (size, last)
        return last

    def _tail_seq(self, size: int) -> int:
        """The seq of the last whole line, read from the end (records are appended in seq
        order, under the chain's lock); 0 when it cannot be parsed (verify reports that)."""
        block = 1 << 16
        with open(self.path, "rb") as handle:
            data = b""
            end = size
            while end > 0:
                start = max(0, end - block)
                handle.seek(start)
                data = handle.read(end - start) + data
                end = start
                lines = data.rstrip(b"\n").rsplit(b"\n", 1)
                if len(lines) == 2 or end == 0:
                    try:
                        return int(json.loads(lines[-1])["seq"])
                    except (ValueError, KeyError, TypeError):
                        return 0
        return 0

    def records(self) -> Iterator[AnchorRecord]:
        if not self.path.exists():
            return
        with open(self.path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    yield AnchorRecord.from_dict(json.loads(line))
                except (ValueError, KeyError, TypeError, AttributeError):
                    raise ValueError(f"{self.describe()} is damaged at line {number}") from None

    def _cached_last(self) -> int:
        return self._last[1] if self._last is not None else 0


# -- anchoring around the transaction's commit --------------------------------------------
# A checkpoint signed inside a transaction that rolls back must never bind the database, and one
# that commits must be in the sink before any later checkpoint. So the prepared record is
# written just before the database commits, while the chain head is still locked; the commit
# listener then commits the database itself, so that the committed record can follow it (the
# engine's own commit that comes next finds nothing left to commit).

_PENDING: weakref.WeakKeyDictionary[Connection, list[tuple[CheckpointSink, AnchorRecord]]] = (
    weakref.WeakKeyDictionary()
)
_GUARD = threading.Lock()


def anchor_on_commit(conn: Connection, sink: CheckpointSink, record: AnchorRecord) -> None:
    """Anchor `record` in `sink` around `conn`'s commit: prepared before, committed after
    (nothing on rollback).

    The listeners go on this one connection, never on the engine: engine-wide listeners
    would slow every statement of every transaction."""
    with _GUARD:
        pending = _PENDING.get(conn)
        if pending is None:
            _PENDING[conn] = pending = []
            if not event.contains(conn, "commit", _on_commit):
                event.listen(conn, "commit", _on_commit)
                event.listen(conn, "rollback", _on_rollback)
        pending.append((sink, replace(record, stage=PREPARED)))


def _on_commit(conn: Connection) -> None:
    with _GUARD:
        pending = _PENDING.pop(conn, None)
    if not pending:
        return
    for sink, record in pending:
        sink.append(record)  # raising here stops the commit: no checkpoint goes unanchored
    _commit_now(conn)
    for sink, record in pending:
        try:
            sink.append(record.committed())
        except TetherError as exc:  # committed already: it binds while the database holds it
            log.warning("checkpoint %s committed but not confirmed: %s", record.seq, exc.message)


def _commit_now(conn: Connection) -> None:
    """Commit `conn`'s transaction on the driver, failing as the engine's commit would."""
    dbapi, driver = conn.dialect.loaded_dbapi, conn.connection.dbapi_connection
    assert driver is not None  # the connection is in a transaction
    try:
        driver.commit()
    except dbapi.Error as exc:
        raise DBAPIError.instance(None, None, exc, dbapi.Error) from None


def _on_rollback(conn: Connection) -> None:
    with _GUARD:
        _PENDING.pop(conn, None)
