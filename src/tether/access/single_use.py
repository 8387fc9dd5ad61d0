"""Single-use grants: each approval's call token may be used for exactly one call, ever.

An approved call's token has an id derived from its approval (`call_token_id`), so however
often a token is minted for the approval, it is the same token. Using it inserts one row into
`call_token_uses` (one per approval and one per token id), and marks the token used on the
revocation list where that list is in the same transaction (the system of record's, not
Redis's): of any number of presentations, in any number of processes, exactly one gets the
row; every other is refused by the approval's gate, which reads the row. Unlike a revocation entry, the
row is never purged, so the approval cannot be used again after its token would have expired.
Migration 0011 creates the table.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import Column, Connection, Engine, Float, MetaData, String, Table, select

from tether.access.revocation import USED, Revocations, transactional
from tether.access.storage import begin, connect, run_raw
from tether.access.tokens import CapabilityClaims
from tether.core.clock import Clock, SystemClock

metadata = MetaData()

call_token_uses = Table(
    "call_token_uses",
    metadata,
    Column("token_id", String(64), primary_key=True),
    Column("approval_id", String(64), nullable=False, unique=True),
    Column("run_id", String(64), nullable=False),
    Column("call_id", String(128), nullable=False),
    Column("tool", String(128), nullable=False),
    Column("argument_hash", String(80), nullable=False),
    Column("used_at", Float, nullable=False),
)

_CLAIM = (
    "INSERT INTO call_token_uses "
    "(token_id, approval_id, run_id, call_id, tool, argument_hash, used_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING token_id"
)


def call_token_id(approval_id: str) -> str:
    """The one token id an approval's call token carries."""
    digest = hashlib.sha256(f"tether:approval:{approval_id}".encode()).hexdigest()
    return "tok_apr_" + digest[:24]


class CallTokenUses:
    """Records the one use of each approval's call token in the system of record."""

    def __init__(
        self, engine: Engine, revocations: Revocations, clock: Clock | None = None
    ) -> None:
        self.engine = engine
        self.revocations = revocations
        self.clock = clock or SystemClock()

    def claim(
        self,
        claims: CapabilityClaims,
        approval_id: str,
        call_id: str,
        conn: Connection | None = None,
    ) -> bool:
        """Use the token for this call; False if it (or its approval) was used already.
        Inside `conn`'s transaction when given (the runtime claims it in the transaction that
        opens the call's ledger row), else in a transaction of its own."""
        if conn is not None:
            return self._claim(conn, claims, approval_id, call_id)
        with begin(self.engine) as own:
            return self._claim(own, claims, approval_id, call_id)

    def _claim(
        self, conn: Connection, claims: CapabilityClaims, approval_id: str, call_id: str
    ) -> bool:
        row = (
            claims.id,
            approval_id,
            claims.run_id,
            call_id,
            claims.tool or "",
            claims.arguments_hash or "",
            self.clock.now(),
        )
        if not run_raw(conn, _CLAIM, row, fetch=True):
            return False
        if transactional(self.revocations):
            # refused by every verification from now on, not only by the approval's gate
            self.revocations.revoke(claims.id, claims.expires_at, USED, conn=conn)
        # a list outside the transaction (Redis) is not told: were the transaction to die after
        # it, the approval could never be used; the row alone spends it, and the gate reads it
        return True

    def used_by(self, approval_id: str) -> str | None:
        """The call that used the approval's token, if any."""
        query = select(call_token_uses.c.call_id).where(
            call_token_uses.c.approval_id == approval_id
        )
        with connect(self.engine) as conn:
            found = conn.execute(query).scalar_one_or_none()
        return None if found is None else str(found)
