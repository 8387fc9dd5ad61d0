"""The tool-result ledger: what each call with side effects did, keyed by its idempotency key.

A call that honours its key may run again after a crash (the key makes the second run a
replay), so only its result is written. A call that does not honour it is first written as
`pending`: finding that mark without a result later means the effect may or may not have
happened, and it must not run again blindly. A recorded failure that surely did nothing may be
run again under the same key; it is marked `pending` again first.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError, OperationalError

from tether.core.errors import ErrorCode, TetherError

PENDING, DONE = "pending", "done"

# Migration 0002 creates this table; the definition here is for queries.
tool_results = Table(
    "tool_results",
    MetaData(),
    Column("key", String(80), primary_key=True),
    Column("run_id", String(64), ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("turn_seq", Integer, nullable=False),
    Column("tool", String(128), nullable=False),
    Column("status", String(16), nullable=False),
    Column("outcome", Text, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)


@dataclass(frozen=True)
class LedgerEntry:
    """One row: the key, `pending` or `done`, and the recorded outcome once done."""

    key: str
    status: str
    outcome: Mapping[str, Any] | None  # None while pending
    recorded: str | None = None  # the outcome as stored, to take it back only if unchanged


class ToolResultLedger:
    """Reads and writes `tool_results` in the system of record."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, key: str) -> LedgerEntry | None:
        """The entry for `key`, if any."""
        query = select(tool_results.c.status, tool_results.c.outcome).where(
            tool_results.c.key == key
        )
        try:
            with self.engine.connect() as conn:
                row = conn.execute(query).first()
        except OperationalError as exc:
            raise _unavailable(exc) from None
        if row is None:
            return None
        outcome = json.loads(row.outcome) if row.outcome else None
        return LedgerEntry(key, row.status, outcome, row.outcome)

    def begin(
        self,
        key: str,
        run_id: str,
        turn_seq: int,
        tool: str,
        also: Callable[[Connection], bool] | None = None,
        retake: str | None = None,
    ) -> bool:
        """Mark the call as started: by inserting its row, or (`retake`: the recorded outcome
        as read, a failure before any effect that the runtime decided may run again) by taking
        that row back, only if it still holds that outcome. False, with nothing marked, when
        another worker marked or recorded it meanwhile, or `also` (run in the same transaction,
        e.g. spending an approval's single-use token) says no: the call must not run here."""
        try:
            with self.engine.begin() as conn:
                if not self._mark(conn, key, run_id, turn_seq, tool, retake):
                    raise _Refused
                if also is not None and not also(conn):
                    raise _Refused  # rolls the mark back with the transaction
        except (_Refused, IntegrityError):  # IntegrityError: another worker inserted it
            return False
        except OperationalError as exc:
            raise _unavailable(exc) from None
        return True

    def spend(self, also: Callable[[Connection], bool]) -> bool:
        """Run `also` (spending a single-use token) in a transaction of its own; its answer."""
        try:
            with self.engine.begin() as conn:
                return also(conn)
        except OperationalError as exc:
            raise _unavailable(exc) from None

    def _mark(
        self,
        conn: Connection,
        key: str,
        run_id: str,
        turn_seq: int,
        tool: str,
        retake: str | None,
    ) -> bool:
        now = time.time()
        again = {"status": PENDING, "outcome": None, "updated_at": now}
        t = tool_results.c
        if retake is not None:  # compare and set: the very outcome that allowed the re-run
            held = (t.key == key) & (t.status == DONE) & (t.outcome == retake)
            return bool(conn.execute(update(tool_results).where(held).values(again)).rowcount)
        if conn.execute(select(t.key).where(t.key == key)).first() is not None:
            return False  # started or recorded by another worker since it was read
        conn.execute(
            insert(tool_results).values(
                key=key, run_id=run_id, turn_seq=turn_seq, tool=tool, created_at=now, **again
            )
        )
        return True

    def finish(
        self, key: str, run_id: str, turn_seq: int, tool: str, outcome: Mapping[str, Any]
    ) -> None:
        """Record the call's outcome; the run goes on only after this commits."""
        now = time.time()
        text = json.dumps(dict(outcome), separators=(",", ":"), ensure_ascii=False)
        values = {"status": DONE, "outcome": text, "updated_at": now}
        try:
            with self.engine.begin() as conn:
                changed = conn.execute(
                    update(tool_results).where(tool_results.c.key == key).values(values)
                ).rowcount
                if not changed:
                    conn.execute(
                        insert(tool_results).values(
                            key=key,
                            run_id=run_id,
                            turn_seq=turn_seq,
                            tool=tool,
                            created_at=now,
                            **values,
                        )
                    )
        except OperationalError as exc:
            raise _unavailable(exc) from None


class _Refused(Exception):
    """What `begin` raises inside its transaction to undo it when `also` refuses."""


def _unavailable(exc: OperationalError) -> TetherError:
    return TetherError(ErrorCode.STORE_UNAVAILABLE, f"database unavailable: {exc.orig or exc}")
