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
        return LedgerEntry(key, row.status, outcome)

    def begin(
        self,
        key: str,
        run_id: str,
        turn_seq: int,
        tool: str,
        also: Callable[[Connection], bool] | None = None,
    ) -> bool:
        """Mark the call as started (for calls that do not honour their key); a recorded
        outcome under the key is cleared, as the call runs again. `also` runs in the same
        transaction (e.g. using an approval's single-use token); when it says False nothing
        is marked and begin returns False: the call must not run."""
        if also is not None:
            try:
                with self.engine.begin() as conn:
                    self._mark(conn, key, run_id, turn_seq, tool)
                    if not also(conn):
                        raise _Refused  # rolls the mark back with the transaction
            except _Refused:
                return False
            except OperationalError as exc:
                raise _unavailable(exc) from None
            return True
        self._begin(key, run_id, turn_seq, tool)
        return True

    def _mark(self, conn: Connection, key: str, run_id: str, turn_seq: int, tool: str) -> None:
        now = time.time()
        again = {"status": PENDING, "outcome": None, "updated_at": now}
        if conn.execute(
            update(tool_results).where(tool_results.c.key == key).values(again)
        ).rowcount:
            return
        conn.execute(
            insert(tool_results).values(
                key=key,
                run_id=run_id,
                turn_seq=turn_seq,
                tool=tool,
                created_at=now,
                **again,
            )
        )

    def _begin(self, key: str, run_id: str, turn_seq: int, tool: str) -> None:
        now = time.time()
        row = {
            "key": key,
            "run_id": run_id,
            "turn_seq": turn_seq,
            "tool": tool,
            "status": PENDING,
            "outcome": None,
            "created_at": now,
            "updated_at": now,
        }
        again = {"status": PENDING, "outcome": None, "updated_at": now}
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(tool_results).values(row))
        except IntegrityError:  # an earlier attempt at this action marked or recorded it
            try:
                with self.engine.begin() as conn:
                    conn.execute(
                        update(tool_results).where(tool_results.c.key == key).values(again)
                    )
            except OperationalError as exc:
                raise _unavailable(exc) from None
        except OperationalError as exc:
            raise _unavailable(exc) from None

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
