"""Idempotency keys of API requests: who sent which key to which route, with what body, and
the response once the first request finished.

A key is claimed by inserting its row, so of two requests racing with one key exactly one
inserts it (the primary key decides, on SQLite and PostgreSQL alike); the other reads the row.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy import (
    Column,
    ColumnElement,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError, OperationalError

from tether.core.errors import ErrorCode, TetherError

IN_PROGRESS, DONE = "in_progress", "done"
RELEASED = "released"  # its request failed: the next request with the key takes it over
KEY_TTL_S = 24 * 3600
# No request runs this long (a POST waits at most 60 s for its run): an unfinished claim this
# old belongs to a process that died, and a retry may take the key over.
CLAIM_TTL_S = 300
MAX_ROUTE = 300

# Migration 0013 creates this table; the definition here is for queries.
request_keys = Table(
    "request_keys",
    MetaData(),
    Column("operator_id", String(32), primary_key=True),
    Column("route", String(MAX_ROUTE), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("body_hash", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("response_json", Text, nullable=True),
    Column("response_headers", Text, nullable=True),  # JSON: the headers a replay repeats
    Column("created_at", Float, nullable=False),
)


@dataclass(frozen=True)
class KeyScope:
    """Where a key is valid: one operator key, one route (method and path)."""

    operator_id: str
    route: str
    key: str

    @staticmethod
    def of(operator_id: str, method: str, path: str, key: str) -> KeyScope:
        route = f"{method} {path}"
        if len(route) > MAX_ROUTE:  # long paths are still told apart, by their hash
            route = f"{method} sha256:{hashlib.sha256(path.encode()).hexdigest()}"
        return KeyScope(operator_id, route, key)


@dataclass(frozen=True)
class KeyRecord:
    """A key already claimed: its body's hash, and the response once done."""

    body_hash: str
    state: str
    status_code: int | None
    response_json: str | None
    headers: Mapping[str, str]
    created_at: float


class RequestKeys:
    """Claims, finishes and releases idempotency keys in the system of record."""

    def __init__(self, engine: Engine, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.clock = clock

    def claim(self, scope: KeyScope, body_hash: str) -> tuple[KeyRecord | None, float]:
        """`(None, since)` when this request now holds the key, `since` being when the key's
        current life began (the same for every retry after a failure, so what a request
        stores can be named by it); else `(record, since)` of the request that holds it. A
        response older than a day, or a claim left unfinished for `CLAIM_TTL_S` (its process
        died mid-request), is replaced by this request's claim, which starts a new life. A
        key released after a failure is taken over only by a request with the same body."""
        for _ in range(3):  # a lapsed row deleted, or a row taken over, between two steps
            now = self.clock()
            try:
                with self.engine.begin() as conn:
                    conn.execute(
                        insert(request_keys).values(
                            **_where(scope), body_hash=body_hash, state=IN_PROGRESS, created_at=now
                        )
                    )
                return None, now
            except IntegrityError:
                pass  # claimed before: read what it holds
            except OperationalError as exc:
                raise _unavailable(exc) from None
            record = self._read(scope)
            if record is None:
                continue
            kept = CLAIM_TTL_S if record.state == IN_PROGRESS else KEY_TTL_S
            if record.created_at <= now - kept:
                self._drop(scope, record.created_at)
            elif record.state != RELEASED or record.body_hash != body_hash:
                # a released key is taken over by a retry of its request, no other request
                return record, record.created_at
            elif self._take_over(scope, record.created_at, body_hash):
                return None, record.created_at
        record = self._read(scope) or KeyRecord(body_hash, IN_PROGRESS, None, None, {}, now)
        return record, record.created_at

    def _take_over(self, scope: KeyScope, since: float, body_hash: str) -> bool:
        """Claim a released key, unless another request took it over first."""
        t = request_keys.c
        query = (
            update(request_keys)
            .where(_match(scope), t.state == RELEASED, t.created_at == since)
            .values(state=IN_PROGRESS, body_hash=body_hash)
        )
        try:
            with self.engine.begin() as conn:
                return bool(conn.execute(query).rowcount)
        except OperationalError as exc:
            raise _unavailable(exc) from None

    def finish(
        self, scope: KeyScope, status_code: int, body: str, headers: Mapping[str, str]
    ) -> None:
        """Keep the response of the request holding the key, for its retries."""
        values = {
            "state": DONE,
            "status_code": status_code,
            "response_json": body,
            "response_headers": json.dumps(dict(headers)),
        }
        try:
            with self.engine.begin() as conn:
                conn.execute(update(request_keys).where(_match(scope)).values(values))
        except OperationalError as exc:
            raise _unavailable(exc) from None

    def release(self, scope: KeyScope) -> None:
        """Let go of an unfinished claim (the request failed), so a retry runs again; the key
        keeps its life (`claim`'s `since`), so the retry names what it stores as the first
        attempt did."""
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    update(request_keys)
                    .where(_match(scope), request_keys.c.state == IN_PROGRESS)
                    .values(state=RELEASED)
                )
        except OperationalError as exc:
            raise _unavailable(exc) from None

    def _read(self, scope: KeyScope) -> KeyRecord | None:
        t = request_keys.c
        query = select(
            t.body_hash, t.state, t.status_code, t.response_json, t.response_headers, t.created_at
        ).where(_match(scope))
        try:
            with self.engine.connect() as conn:
                row = conn.execute(query).first()
        except OperationalError as exc:
            raise _unavailable(exc) from None
        if row is None:
            return None
        headers = json.loads(row.response_headers) if row.response_headers else {}
        return KeyRecord(
            row.body_hash, row.state, row.status_code, row.response_json, headers, row.created_at
        )

    def _drop(self, scope: KeyScope, created_at: float) -> None:
        """Delete a lapsed row, only if it is still the one that was read."""
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    delete(request_keys).where(
                        _match(scope), request_keys.c.created_at == created_at
                    )
                )
        except OperationalError as exc:
            raise _unavailable(exc) from None


def _where(scope: KeyScope) -> dict[str, str]:
    return {"operator_id": scope.operator_id, "route": scope.route, "key": scope.key}


def _match(scope: KeyScope) -> ColumnElement[bool]:
    t = request_keys.c
    return and_(t.operator_id == scope.operator_id, t.route == scope.route, t.key == scope.key)


def _unavailable(exc: OperationalError) -> TetherError:
    return TetherError(ErrorCode.STORE_UNAVAILABLE, f"database unavailable: {exc.orig or exc}")
