"""Alembic environment: runs on the connection tether hands it (see tether.store.db.migrate)."""

from __future__ import annotations

from alembic import context

from tether.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - tether always passes a connection
    raise RuntimeError("tether migrations run through tether.store.db.migrate")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
