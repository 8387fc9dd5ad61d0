"""A conversation's messages and evidence as rows of their own, appended turn by turn.

Revision ID: 0012
Revises: 0007
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0007"
branch_labels = None
depends_on = None

_conversations = sa.table("conversations", sa.column("id", sa.String), sa.column("state", sa.Text))
_entries = sa.table(
    "conversation_entries",
    sa.column("conversation_id", sa.String),
    sa.column("kind", sa.String),
    sa.column("seq", sa.Integer),
    sa.column("body", sa.Text),
)


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def upgrade() -> None:
    op.create_table(
        "conversation_entries",
        sa.Column("conversation_id", sa.String(40), primary_key=True),
        sa.Column("kind", sa.String(1), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("body", sa.Text, nullable=False),
    )
    conn = op.get_bind()
    for cid, body in conn.execute(sa.select(_conversations.c.id, _conversations.c.state)).all():
        state = json.loads(body)
        messages, evidence = state.pop("messages", []), list(state.pop("evidence", {}).values())
        rows = []
        if messages:  # one row per kind: what the conversation held so far
            rows.append({"conversation_id": cid, "kind": "m", "seq": 0, "body": _dumps(messages)})
        if evidence:
            rows.append({"conversation_id": cid, "kind": "e", "seq": 0, "body": _dumps(evidence)})
        if rows:
            conn.execute(sa.insert(_entries), rows)
        conn.execute(
            sa.update(_conversations).where(_conversations.c.id == cid).values(state=_dumps(state))
        )


def downgrade() -> None:
    conn = op.get_bind()
    for cid, body in conn.execute(sa.select(_conversations.c.id, _conversations.c.state)).all():
        state = json.loads(body)
        rows = conn.execute(
            sa.select(_entries.c.kind, _entries.c.body)
            .where(_entries.c.conversation_id == cid)
            .order_by(_entries.c.kind, _entries.c.seq)
        ).all()
        state["messages"] = [m for k, b in rows if k == "m" for m in json.loads(b)]
        state["evidence"] = {e["id"]: e for k, b in rows if k == "e" for e in json.loads(b)}
        conn.execute(
            sa.update(_conversations).where(_conversations.c.id == cid).values(state=_dumps(state))
        )
    op.drop_table("conversation_entries")
