"""The tool-result ledger: what each call with side effects did, keyed by its idempotency key.

A call that honours its key may run again after a crash (the key makes the second run a
replay), so only its result is written. A call that does not honour it is first written as
`pending`: finding that mark without a result later means the effect may or may not have
happened, and it must not run again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
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

    def begin(self, key: str, run_id: str, turn_seq: int, tool: str) -> None:
        """Mark the call as started (for calls that do not honour their key)."""
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
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(tool_results).values(row))
        except IntegrityError:
            pass  # already marked by an earlier attempt at this call
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


def _unavailable(exc: OperationalError) -> TetherError:
    return TetherError(ErrorCode.STORE_UNAVAILABLE, f"database unavailable: {exc.orig or exc}")
