"""Revoked and used capability tokens: in the system of record, or in Redis when configured.

A token is revoked by id until it would have expired anyway; single-use tokens (approved
calls) are "consumed" atomically, so the second presentation of one is refused. Both stores
fail closed: if the revocation list cannot be read, the token is not accepted.
"""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, delete, select

from tether.access.storage import begin, connect, run_raw
from tether.core.clock import Clock, SystemClock
from tether.core.errors import ErrorCode, TetherError
from tether.core.redis_client import DEFAULT_PREFIX, redis_client
from tether.store.access_schema import revoked_tokens

REVOKED = "revoked"
USED = "used"
PURGE_EVERY = 500  # writes between purges of entries whose tokens have expired
# how long an entry outlives its token's expiry: a replica whose clock runs behind still takes
# the token for live that long, and must still find it refused
KEPT_PAST_EXPIRY_S = 60.0
MAX_TOKEN_ID_CHARS = 64  # the revocation list's id column; no token has a longer id


def check_token_id(token_id: str) -> str:
    """`token_id` when a token could have it (1 to 64 printable characters); BAD_REQUEST
    otherwise, alike on every store (PostgreSQL would refuse it with a driver error, SQLite
    would keep it)."""
    if not 0 < len(token_id) <= MAX_TOKEN_ID_CHARS or not token_id.isprintable():
        raise TetherError(
            ErrorCode.BAD_REQUEST,
            f"no token has the id {token_id[:MAX_TOKEN_ID_CHARS]!r}"
            f"{'...' if len(token_id) > MAX_TOKEN_ID_CHARS else ''}: a token id is 1 to "
            f"{MAX_TOKEN_ID_CHARS} printable characters (tok_..., as steps record it)",
        )
    return token_id


class Revocations(Protocol):
    def revoke(
        self,
        token_id: str,
        expires_at: float,
        reason: str = REVOKED,
        conn: Connection | None = None,
    ) -> None:
        """Refuse `token_id` from now until `expires_at` (inside `conn`'s transaction if given)."""
        ...

    def status(self, token_id: str) -> str | None:
        """ "revoked", "used", or None for a token that may still be used."""
        ...

    def consume(self, token_id: str, expires_at: float) -> bool:
        """Mark a single-use token used; False if it was already used or revoked."""
        ...


def transactional(revocations: Revocations) -> bool:
    """Whether `revoke(..., conn=conn)` commits or rolls back with `conn`'s transaction (the
    system of record's list does; Redis writes at once, whatever the transaction does)."""
    return isinstance(getattr(revocations, "inner", revocations), StoreRevocations)


class CachedRevocations:
    """Remembers for `ttl_s` that a token was *not* revoked, so the checks before and at each
    execution cost one lookup per token rather than two per call.

    Revocations made through this object take effect at once; those made by another process
    take effect within `ttl_s` (default 1 s). Single-use consumption always asks the store.
    """

    MAX_ENTRIES = 10_000

    def __init__(self, inner: Revocations, ttl_s: float = 1.0) -> None:
        self.inner = inner
        self.ttl_s = ttl_s
        self._clear_until: dict[str, float] = {}
        self._lock = threading.Lock()

    def revoke(
        self,
        token_id: str,
        expires_at: float,
        reason: str = REVOKED,
        conn: Connection | None = None,
    ) -> None:
        self._forget(token_id)
        self.inner.revoke(token_id, expires_at, reason, conn)

    def status(self, token_id: str) -> str | None:
        now = time.monotonic()
        until = self._clear_until.get(token_id)
        if until is not None and now < until:
            return None
        found = self.inner.status(token_id)
        if found is None and self.ttl_s > 0:
            with self._lock:
                if len(self._clear_until) >= self.MAX_ENTRIES:
                    self._clear_until.clear()
                self._clear_until[token_id] = now + self.ttl_s
        return found

    def consume(self, token_id: str, expires_at: float) -> bool:
        self._forget(token_id)
        return self.inner.consume(token_id, expires_at)

    def issued(self, token_id: str) -> None:
        """A token just minted here: nobody can have revoked it yet, so skip the first lookup
        (a revocation by another process is still seen within `ttl_s`)."""
        if self.ttl_s > 0:
            with self._lock:
                if len(self._clear_until) >= self.MAX_ENTRIES:
                    self._clear_until.clear()
                self._clear_until[token_id] = time.monotonic() + self.ttl_s

    def _forget(self, token_id: str) -> None:
        with self._lock:
            self._clear_until.pop(token_id, None)


class StoreRevocations:
    """Revocations in the `revoked_tokens` table of the system of record."""

    def __init__(self, engine: Engine, clock: Clock | None = None) -> None:
        self.engine = engine
        self.clock = clock or SystemClock()
        self._writes = itertools.count(1)

    def revoke(
        self,
        token_id: str,
        expires_at: float,
        reason: str = REVOKED,
        conn: Connection | None = None,
    ) -> None:
        check_token_id(token_id)
        if conn is None:
            with begin(self.engine) as own:
                self.revoke(token_id, expires_at, reason, own)
            return
        _insert_once(conn, self._row(token_id, expires_at, reason))
        self._maybe_purge(conn)

    def status(self, token_id: str) -> str | None:
        query = select(revoked_tokens.c.reason).where(revoked_tokens.c.jti == token_id)
        with connect(self.engine) as conn:
            found = conn.execute(query).scalar_one_or_none()
        return None if found is None else str(found)

    def consume(self, token_id: str, expires_at: float) -> bool:
        with begin(self.engine) as conn:
            inserted = _insert_once(conn, self._row(token_id, expires_at, USED))
            self._maybe_purge(conn)
        return inserted

    def _row(self, token_id: str, expires_at: float, reason: str) -> dict[str, Any]:
        return {
            "jti": token_id,
            "revoked_at": self.clock.now(),
            "expires_at": expires_at,
            "reason": reason,
        }

    def _maybe_purge(self, conn: Connection) -> None:
        if next(self._writes) % PURGE_EVERY == 0:
            # an expired token is refused for its expiry already (by every clock within the
            # margin); its entry is no longer needed
            horizon = self.clock.now() - KEPT_PAST_EXPIRY_S
            conn.execute(delete(revoked_tokens).where(revoked_tokens.c.expires_at < horizon))


# One statement for SQLite and PostgreSQL: no error on a duplicate (so the caller's transaction
# is not aborted), and RETURNING says whether the row went in (rowcount is not reliable).
_INSERT_ONCE = (
    "INSERT INTO revoked_tokens (jti, revoked_at, expires_at, reason) VALUES (?, ?, ?, ?) "
    "ON CONFLICT DO NOTHING RETURNING jti"
)


def _insert_once(conn: Connection, row: dict[str, Any]) -> bool:
    """Insert unless the token id is there already."""
    params = (row["jti"], row["revoked_at"], row["expires_at"], row["reason"])
    return bool(run_raw(conn, _INSERT_ONCE, params, fetch=True))


class RedisRevocations:
    """Revocations in Redis, shared by every replica; entries expire with their tokens."""

    def __init__(
        self,
        url: str,
        clock: Clock | None = None,
        timeout_s: float = 1.0,
        prefix: str = DEFAULT_PREFIX,
    ) -> None:
        self.clock = clock or SystemClock()
        self.prefix = f"{prefix}revoked:"  # under the deployment's prefix, as every key
        self._redis, self._outages = redis_client(url, timeout_s)

    def revoke(
        self,
        token_id: str,
        expires_at: float,
        reason: str = REVOKED,
        conn: Connection | None = None,
    ) -> None:
        self._call(
            lambda: self._redis.set(self.prefix + token_id, reason, px=self._ttl_ms(expires_at))
        )

    def status(self, token_id: str) -> str | None:
        value = self._call(lambda: self._redis.get(self.prefix + token_id))
        return None if value is None else bytes(value).decode("utf-8", "replace")

    def consume(self, token_id: str, expires_at: float) -> bool:
        key = self.prefix + token_id
        created = self._call(
            lambda: self._redis.set(key, USED, px=self._ttl_ms(expires_at), nx=True)
        )
        return bool(created)

    def close(self) -> None:
        self._redis.close()

    def _ttl_ms(self, expires_at: float) -> int:
        # kept past expiry, so clock skew between replicas cannot reopen a window
        return max(1, int((expires_at - self.clock.now() + KEPT_PAST_EXPIRY_S) * 1000))

    def _call(self, fn: Any) -> Any:
        try:
            return fn()
        except self._outages as exc:
            raise TetherError(
                ErrorCode.STORE_UNAVAILABLE,
                f"the revocation list in Redis is unavailable ({type(exc).__name__})",
            ) from None
