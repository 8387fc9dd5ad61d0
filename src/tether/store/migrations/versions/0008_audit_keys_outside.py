"""Signing keys leave the database: private halves dropped, public halves pinned outside.

Revision ID: 0008
Revises: 0001 (after 0003, which made the tables)

Trust on first use, once: the keys and checkpoints the database holds at upgrade time are
taken as genuine. Their public halves are pinned in the trust file and the checkpoints are
copied to the checkpoint sink (both in the data directory, see `AuditPaths`); the private
halves are erased and those keys retired, so a new key, made in the key file, signs from now
on. A fresh database has nothing to carry over and touches no file.
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from alembic import op

from tether.access.anchors import PREFIX, AnchorRecord, FileCheckpointSink
from tether.access.canonical import b64url_decode
from tether.access.settings import AccessSettings, AuditPaths
from tether.access.trust import TrustFile

revision = "0008"
down_revision = "0001"
branch_labels = None
depends_on = "0003"

NOTE = "pinned from the database by migration 0008"


def upgrade() -> None:
    bind = op.get_bind()
    keys = bind.execute(
        sa.text("SELECT kid, public_key, created_at, retired_at FROM signing_keys")
    ).all()
    if keys:
        now = time.time()
        paths = AuditPaths.resolve(bind.engine.url, AccessSettings.from_env())
        trust = TrustFile(paths.trust_file)
        for kid, public_key, created_at, retired_at in keys:
            trust.pin(kid, b64url_decode(public_key), float(created_at), NOTE)
            trust.retire(kid, now if retired_at is None else float(retired_at))
        _anchor_existing(bind, FileCheckpointSink(paths.sink_file))
    with op.batch_alter_table("signing_keys") as batch:
        batch.alter_column("private_key", existing_type=sa.Text(), nullable=True)
    op.get_bind().execute(
        sa.text(
            "UPDATE signing_keys SET private_key = NULL, retired_at = COALESCE(retired_at, :now)"
        ),
        {"now": time.time()},
    )


def _anchor_existing(bind: sa.Connection, sink: FileCheckpointSink) -> None:
    if sink.last_seq() > 0:
        return  # anchored already (a sink shared with an earlier upgrade)
    points = bind.execute(
        sa.text("SELECT seq, hash, ts, kid, signature FROM audit_checkpoints ORDER BY id")
    ).all()
    after = 0
    for seq, head, ts, kid, signature in points:
        seq = int(seq)
        start = min(after, seq)
        found = bind.execute(
            sa.text("SELECT hash FROM audit_events WHERE seq > :a AND seq <= :s ORDER BY seq"),
            {"a": start, "s": seq},
        ).scalars()
        digests = [str(d)[:PREFIX] for d in found]
        if len(digests) != seq - start:
            start, digests = seq, []
        sink.append(AnchorRecord(seq, head, str(kid), signature, int(ts), start, digests))
        after = max(after, seq)


def downgrade() -> None:
    pass  # the private halves are gone for good: rows stay public-only
