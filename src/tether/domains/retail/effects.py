"""Every committed change to a retail order or user, whatever code makes it: SQLite triggers
that `tether chaos` reads to count side effects that happened twice."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import text

from tether.domains.retail.db import RetailDB

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


def _db(data: Any) -> RetailDB:
    if not isinstance(data, RetailDB):
        raise TypeError(f"the effect log needs the retail data, not {type(data).__name__}")
    return data
