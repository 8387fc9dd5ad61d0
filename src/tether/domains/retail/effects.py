"""What the retail writes did. Every committed change to an order or user, whatever code makes
it: SQLite triggers that `tether chaos` reads to count side effects that happened twice. And
the writes' reconcile hook: each write commits its result with its idempotency key, so the
key's record tells whether a write whose answer was lost took effect."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import text

from tether.domains.retail.db import RetailDB
from tether.tools import Reconcile

_STATEMENTS = (
    "CREATE TABLE chaos_effects (record TEXT NOT NULL)",
    *(
        f"CREATE TRIGGER chaos_{table} AFTER UPDATE ON {table} WHEN OLD.data <> NEW.data "
        f"BEGIN INSERT INTO chaos_effects VALUES ('{table}:' || NEW.id); END"
        for table in ("retail_orders", "retail_users")
    ),
)


class RetailEffectLog:
    """Logs changes to orders and users in a (fresh, SQLite) copy of the retail data."""

    def install(self, data: Any) -> None:
        db = _db(data)
        with db.engine.begin() as conn:
            for statement in _STATEMENTS:
                conn.execute(text(statement))

    def changes(self, data: Any) -> Mapping[str, int]:
        db = _db(data)
        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT record, count(*) FROM chaos_effects GROUP BY record"))
            return {str(record): int(count) for record, count in rows}


def recorded_write(db: RetailDB) -> Reconcile:
    """The reconcile hook of the retail writes over `db`: the result committed under the
    call's idempotency key, or None when no write committed under it."""

    def reconcile(arguments: Mapping[str, Any], idempotency_key: str) -> Any:
        with db.transaction() as uow:  # serialised with writers: a commit is seen whole
            return uow.recorded_result(idempotency_key)

    return reconcile


def _db(data: Any) -> RetailDB:
    if not isinstance(data, RetailDB):
        raise TypeError(f"the effect log needs the retail data, not {type(data).__name__}")
    return data
