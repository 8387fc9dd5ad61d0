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
    select,
    update,
)
from sqlalchemy.exc import OperationalError

from tether.core.errors import ErrorCode, TetherError
from tether.store.db import write_row

IN_PROGRESS, DONE = "in_progress", "done"
RELEASED = "released"  # its request failed: the next request with the key takes it over
KEY_TTL_S = 24 * 3600  # a key's life, from `created_at`
# No request runs this long (a POST waits at most 60 s for its run): a claim unfinished this
# long after `claimed_at` belongs to a process that died, and a retry may take the key over.
CLAIM_TTL_S = 300
MAX_ROUTE = 300

# Migrations 0013 and 0024 make this table; the definition here is for queries.
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
    Column("created_at", Float, nullable=False),  # when the key's current life began
    Column("claimed_at", Float, nullable=False),  # when the request now holding it took it
)


@dataclass(frozen=True)
class KeyScope:
    """Where a key is valid: one operator key, one route (method and path) and, for a request
    on a customer's behalf, that customer."""

    operator_id: str
    route: str
    key: str

    @staticmethod
    def of(operator_id: str, method: str, path: str, key: str, speaker: str = "") -> KeyScope:
        """`speaker`: the customer an end-user token names, where the request carries one; a
        key sent for one customer is another customer's key too only in name."""
        where = path if not speaker else f"{path}\n{speaker}"  # no path holds a newline
        route = f"{method} {where}"
        if len(route) > MAX_ROUTE or speaker:  # told apart by their hash
            route = f"{method} sha256:{hashlib.sha256(where.encode()).hexdigest()}"
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
    claimed_at: float


class RequestKeys:
    """Claims, finishes and releases idempotency keys in the system of record."""

    def __init__(self, engine: Engine, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.clock = clock
        self._dbapi = engine.dialect.loaded_dbapi  # the claim and the finish run on its cursor

    def claim(self, scope: KeyScope, body_hash: str) -> tuple[KeyRecord | None, float, bool]:
        """`(None, since, new)` when this request now holds the key, `since` being when the
        key's current life began (the same for every retry that takes the key over, so what a
        request stores can be named by it) and `new` whether that life began with this claim
        (so no earlier attempt stored anything under it); else `(record, since, False)` of the
        request that holds it. A key released after a failure, or whose claim was left unfinished for
        `CLAIM_TTL_S` (its process died mid-request), is taken over by a retry with the same
        body and keeps its life: the retry finds what the first attempt stored. Only a key
        older than a day is replaced by a new life."""
        for _ in range(3):  # a lapsed row deleted, or a row taken over, between two steps
            now = self.clock()
            where = (scope.operator_id, scope.route, scope.key)
            try:
                write_row(self.engine, _CLAIM, (*where, body_hash, IN_PROGRESS, now, now))
                return None, now, True
            except self._dbapi.IntegrityError:
                pass  # claimed before: read what it holds
            except (OperationalError, self._dbapi.OperationalError) as exc:
                raise _unavailable(exc) from None
            record = self._read(scope)
            if record is None:
                continue
            live = record.state == IN_PROGRESS and record.claimed_at > now - CLAIM_TTL_S
            if live:  # its request may still run, whatever the key's age
                return record, record.created_at, False
            if record.created_at <= now - KEY_TTL_S:
                self._drop(scope, record)
            elif record.state == DONE or record.body_hash != body_hash:
                # a key whose request did not finish is taken over by a retry of that request,
                # never by another request
                return record, record.created_at, False
            elif self._take_over(scope, record, body_hash, now):
                return None, record.created_at, False
        record = self._read(scope) or KeyRecord(body_hash, IN_PROGRESS, None, None, {}, now, now)
        return record, record.created_at, False

    def _take_over(self, scope: KeyScope, record: KeyRecord, body_hash: str, now: float) -> bool:
        """Claim a released or lapsed key, unless another request took it over first."""
        query = (
            update(request_keys)
            .where(_match(scope), _unchanged(record))
            .values(state=IN_PROGRESS, body_hash=body_hash, claimed_at=now)
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
        kept = (DONE, status_code, body, json.dumps(dict(headers)))
        try:
            write_row(self.engine, _FINISH, (*kept, scope.operator_id, scope.route, scope.key))
        except (OperationalError, self._dbapi.OperationalError) as exc:
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
            t.body_hash,
            t.state,
            t.status_code,
            t.response_json,
            t.response_headers,
            t.created_at,
            t.claimed_at,
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
            row.body_hash,
            row.state,
            row.status_code,
            row.response_json,
            headers,
            row.created_at,
            row.claimed_at,
        )

    def _drop(self, scope: KeyScope, record: KeyRecord) -> None:
        """Delete an expired row, only if it is still the one that was read (not taken over
        meanwhile: a take-over keeps `created_at`)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(delete(request_keys).where(_match(scope), _unchanged(record)))
        except OperationalError as exc:
            raise _unavailable(exc) from None


# The claim and the finish of every keyed POST, on the driver's cursor (`write_row`): through
# SQLAlchemy's statement and transaction handling each cost about twice as much.
_CLAIM = (
    "INSERT INTO request_keys"
    ' (operator_id, route, "key", body_hash, state, created_at, claimed_at)'
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_FINISH = (
    "UPDATE request_keys SET state = ?, status_code = ?, response_json = ?, response_headers = ?"
    ' WHERE operator_id = ? AND route = ? AND "key" = ?'
)


def _match(scope: KeyScope) -> ColumnElement[bool]:
    t = request_keys.c
    return and_(t.operator_id == scope.operator_id, t.route == scope.route, t.key == scope.key)


def _unchanged(record: KeyRecord) -> ColumnElement[bool]:
    """The row is still in the state `record` read it in."""
    t = request_keys.c
    return and_(
        t.state == record.state,
        t.created_at == record.created_at,
        t.claimed_at == record.claimed_at,
    )


def _unavailable(exc: Exception) -> TetherError:
    """STORE_UNAVAILABLE for SQLAlchemy's OperationalError or the driver's own."""
    origin = getattr(exc, "orig", None) or exc
    return TetherError(ErrorCode.STORE_UNAVAILABLE, f"database unavailable: {origin}")
