"""Revision 0024 adds `claimed_at` to idempotency keys: rows claimed before it keep the lapse
they had (their claim dates from their creation), on SQLite and PostgreSQL."""

from __future__ import annotations

import time

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from tether.store.db import _alembic_config, create_store_engine, migrate

ROWS = [
    ("op_1", "POST /v1/runs", "old-done", "done", 1000.5),
    ("op_1", "POST /v1/runs", "k", "in_progress", time.time() - 7.25),
]


def test_existing_keys_keep_their_claim_time_and_it_is_required(store_url: str) -> None:
    engine = create_store_engine(store_url)
    try:
        migrate(engine)
        cfg = _alembic_config()
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0024-1")
        assert "claimed_at" not in {c["name"] for c in inspect(engine).get_columns("request_keys")}
        with engine.begin() as conn:
            for operator_id, route, key, state, created_at in ROWS:
                conn.execute(
                    text(
                        "INSERT INTO request_keys (operator_id, route, key, body_hash, state,"
                        " created_at) VALUES (:o, :r, :k, 'h', :s, :c)"
                    ),
                    {"o": operator_id, "r": route, "k": key, "s": state, "c": created_at},
                )
        migrate(engine)
        with engine.connect() as conn:
            kept = conn.execute(
                text("SELECT key, created_at, claimed_at FROM request_keys ORDER BY key")
            ).all()
        assert [(k, c) for k, c, _ in kept] == sorted((r[2], r[4]) for r in ROWS)
        assert all(claimed == created for _, created, claimed in kept)
        indexes = {i["name"] for i in inspect(engine).get_indexes("request_keys")}
        assert "ix_request_keys_created_at" in indexes
        with pytest.raises(IntegrityError), engine.begin() as conn:  # NOT NULL holds
            conn.execute(
                text(
                    "INSERT INTO request_keys (operator_id, route, key, body_hash, state,"
                    " created_at) VALUES ('op_2', 'POST /v1/runs', 'n', 'h', 'done', 1.0)"
                )
            )
    finally:
        engine.dispose()
