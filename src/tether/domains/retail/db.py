"""The retail store's records (users, orders, products) as JSON documents in three tables.

SQLAlchemy Core over any engine (SQLite embedded, PostgreSQL at scale). Each record is one row
keyed by its id; tools read and replace whole documents inside one transaction, so a tool's
effect commits atomically or not at all.
"""

from __future__ import annotations

import gzip
import json
import marshal
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from importlib import resources
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    create_engine,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import StaticPool

from tether import ErrorCode, TetherError, reading_now, recorded_read
from tether.domains.retail.driver_reads import DriverReads

Record = dict[str, Any]

metadata = MetaData()


def _table(name: str) -> Table:
    return Table(name, metadata, Column("id", String, primary_key=True), Column("data", Text))


users_table = _table("retail_users")
orders_table = _table("retail_orders")
products_table = _table("retail_products")
# results of write tools by idempotency key, written in the same transaction as the change
idempotency_table = Table(
    "retail_idempotency",
    metadata,
    Column("key", String, primary_key=True),
    Column("tool", String, nullable=False),
    Column("result", Text, nullable=False),
)

# the db.json section each table is loaded from
_SECTIONS: tuple[tuple[str, Table], ...] = (
    ("users", users_table),
    ("orders", orders_table),
    ("products", products_table),
)

PACKAGED_DB = "db.json.gz"
_DECODINGS = 1024  # records whose decoding is kept (a bound: a few KB each)


def _dumps(record: Mapping[str, Any]) -> str:
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False)


@lru_cache(maxsize=1)
def packaged_rows() -> dict[str, tuple[tuple[str, str], ...]]:
    """The packaged data as serialised rows per section, parsed once per process.

    Rows are immutable strings, so every fresh copy can insert them without a deep copy.
    """
    raw = (
        resources.files("tether.domains.retail").joinpath("data").joinpath(PACKAGED_DB).read_bytes()
    )
    data = json.loads(gzip.decompress(raw))
    return {
        section: tuple((key, _dumps(value)) for key, value in data[section].items())
        for section, _ in _SECTIONS
    }


_TEMPLATE_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _packaged_template() -> tuple[RetailDB, sqlite3.Connection]:
    """An in-memory SQLite database holding the packaged data, the source of fresh copies."""
    conn = sqlite3.connect(":memory:", check_same_thread=False)
    db = RetailDB(create_engine("sqlite://", poolclass=StaticPool, creator=lambda: conn))
    db.create_tables()
    db._load_rows(packaged_rows(), replace=False)
    return db, conn  # the store is kept too, so its pool never closes the connection


def _copy_of_template() -> sqlite3.Connection:
    """A new in-memory connection holding the packaged data (StaticPool's creator)."""
    conn = sqlite3.connect(":memory:", check_same_thread=False)
    _, template = _packaged_template()
    with _TEMPLATE_LOCK:
        # copying pages of a loaded database is ~10x faster than inserting the rows again
        template.backup(conn)
    return conn


def packaged_data() -> dict[str, dict[str, Record]]:
    """A new, mutable copy of the packaged db.json structure."""
    return {
        section: {key: json.loads(text) for key, text in rows}
        for section, rows in packaged_rows().items()
    }


# Reads by id are the hot path of every guard and tool: build each statement once.
_READ = {
    t.name: select(t.c.data).where(t.c.id == bindparam("key"))
    for t in (users_table, orders_table, products_table)
}
_READ_FOR_UPDATE = {name: stmt.with_for_update() for name, stmt in _READ.items()}
_ALL = {t.name: select(t.c.data).order_by(t.c.id) for _, t in _SECTIONS}
_DUMP = {t.name: select(t.c.id, t.c.data) for _, t in _SECTIONS}
_COUNT_USERS = select(func.count()).select_from(users_table)


class UnitOfWork:
    """Reads and writes of one transaction; rows read here are locked until it ends."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def _get(self, table: Table, key: str, *, lock: bool = True) -> Record | None:
        # FOR UPDATE serialises concurrent writers on PostgreSQL; SQLite ignores it
        stmt = _READ_FOR_UPDATE[table.name] if lock else _READ[table.name]
        text = self.conn.execute(stmt, {"key": key}).scalar_one_or_none()
        return None if text is None else dict(json.loads(text))

    def _put(self, table: Table, key: str, record: Mapping[str, Any]) -> None:
        result = self.conn.execute(
            update(table).where(table.c.id == key).values(data=_dumps(record))
        )
        if result.rowcount != 1:
            raise TetherError(ErrorCode.CONFLICT, f"record {key!r} vanished during the update")

    def user(self, user_id: str) -> Record | None:
        """The user, read for update."""
        return self._get(users_table, user_id)

    def order(self, order_id: str) -> Record | None:
        """The order, read for update."""
        return self._get(orders_table, order_id)

    def product(self, product_id: str) -> Record | None:
        """The product, read without a lock: no tool changes products."""
        return self._get(products_table, product_id, lock=False)

    def put_user(self, user: Mapping[str, Any]) -> None:
        """Replace the stored user with this document."""
        self._put(users_table, str(user["user_id"]), user)

    def recorded_result(self, key: str) -> Any | None:
        """The result a write made under this idempotency key, or None if none did."""
        text = self.conn.execute(
            select(idempotency_table.c.result).where(idempotency_table.c.key == key)
        ).scalar_one_or_none()
        return None if text is None else json.loads(text)

    def record_result(self, key: str, tool: str, result: Any) -> None:
        """Remember a write's result under its idempotency key; commits with the change."""
        self.conn.execute(
            insert(idempotency_table).values(key=key, tool=tool, result=json.dumps(result))
        )

    def put_order(self, order: Mapping[str, Any]) -> None:
        """Replace the stored order with this document."""
        self._put(orders_table, str(order["order_id"]), order)


class RetailDB:
    """The retail records over a SQLAlchemy engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._write_lock = threading.RLock()
        self._active = threading.local()  # the unit of work open in this thread, if any
        self._shared = threading.local()  # records read in this thread's shared-reads block
        self._emails: dict[str, str] | None = None  # lower-cased e-mail -> user id
        # (table, id) -> the last text read of the record and its decoding, as marshal bytes
        self._decodings: dict[tuple[str, str], tuple[str, bytes]] = {}
        self._reads = DriverReads(engine, self._write_lock, self._open_transaction)

    # -- schema and loading ------------------------------------------------------------------

    def create_tables(self) -> None:
        """Create the three retail tables if they do not exist.

        On PostgreSQL an advisory lock held until commit lets processes that start together
        take turns: one creates the tables, the others find them made."""
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                lock = func.pg_advisory_xact_lock(func.hashtext("tether.retail.schema"))
                conn.execute(select(lock))
            metadata.create_all(conn)

    def is_loaded(self) -> bool:
        """True when the store holds any user."""
        return bool(self._reads.rows(_COUNT_USERS)[0][0])

    def load(self, data: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> None:
        """Replace all records with those of a db.json structure, in one transaction."""
        rows = {
            section: [(str(key), _dumps(value)) for key, value in data.get(section, {}).items()]
            for section, _ in _SECTIONS
        }
        self._load_rows(rows, replace=True)

    def load_packaged(self) -> bool:
        """Load the packaged data unless the tables already hold records; True if it loaded."""
        if self.is_loaded():
            return False
        try:
            self._load_rows(packaged_rows(), replace=False)
        except IntegrityError:
            # another process loaded it between our check and our insert
            if self.is_loaded():
                return False
            raise
        return True

    def _load_rows(self, rows: Mapping[str, Sequence[tuple[str, str]]], replace: bool) -> None:
        self._emails = None
        if getattr(self._shared, "texts", None) is not None:
            self._shared.texts = {}
        # under the write lock: a reader of a single-connection store never sees half a load
        with self._write_lock, self.engine.begin() as conn:
            for section, table in _SECTIONS:
                if replace:
                    conn.execute(delete(table))
                batch = [{"id": key, "data": text} for key, text in rows.get(section, ())]
                if batch:
                    conn.execute(insert(table), batch)

    @classmethod
    def fresh_copy(cls) -> RetailDB:
        """A new, independent in-memory SQLite store holding the packaged data.

        The data lives as long as the engine's one connection: disposing the engine discards
        every change, and the next use starts again from the packaged data.
        """
        return cls(create_engine("sqlite://", poolclass=StaticPool, creator=_copy_of_template))

    def close(self) -> None:
        """Release the connections (a fresh copy's data goes with them)."""
        self.engine.dispose()

    # -- reads ---------------------------------------------------------------------------------

    @contextmanager
    def shared_reads(self) -> Iterator[None]:
        """Within the block, this thread reads each record from the database at most once:
        the checks of one proposal see the same record and pay for one query. A write in the
        block forgets what was read; a nested block joins the outer one."""
        if getattr(self._shared, "texts", None) is not None:
            yield
            return
        self._shared.texts = {}
        try:
            yield
        finally:
            self._shared.texts = None

    def _get(self, table: Table, key: str) -> Record | None:
        # a check's reads are kept with its step, so that a replay reads what it read
        return recorded_read(table.name, key, lambda: self._fetch(table, key))

    def _fetch(self, table: Table, key: str) -> Record | None:
        texts: dict[tuple[str, str], str | None] | None = getattr(self._shared, "texts", None)
        if self._open_transaction() is not None:
            texts = None  # a write's own reads see its changes, and may be rolled back: not kept
        if texts is not None and (table.name, key) in texts:
            text = texts[table.name, key]
        else:
            rows = self._reads.rows(_READ[table.name], {"key": key})
            text = rows[0][0] if rows else None
            if texts is not None:
                texts[table.name, key] = text
        return None if text is None else self._decoded(table.name, key, text)

    def _decoded(self, table: str, key: str, text: str) -> Record:
        """The record a stored text holds, each caller its own copy. The text was just read
        from the database; only its decoding is kept, for as long as the text stays the same:
        a copy of the decoded record is rebuilt from `marshal` bytes, at about a third of the
        cost of parsing the JSON again."""
        kept = self._decodings.get((table, key))
        if kept is not None and kept[0] == text:
            record: Record = marshal.loads(kept[1])
            return record
        record = json.loads(text)
        if len(self._decodings) >= _DECODINGS:
            self._decodings.clear()
        self._decodings[table, key] = (text, marshal.dumps(record))
        return record

    def _all(self, table: Table) -> Iterator[Record]:
        for (text,) in self._reads.rows(_ALL[table.name]):
            yield dict(json.loads(text))

    def user(self, user_id: str) -> Record | None:
        """The user with this id, or None."""
        return self._get(users_table, user_id)

    def order(self, order_id: str) -> Record | None:
        """The order with this id (with its leading '#'), or None."""
        return self._get(orders_table, order_id)

    def product(self, product_id: str) -> Record | None:
        """The product with this id, or None."""
        return self._get(products_table, product_id)

    def user_id_by_email(self, email: str) -> str | None:
        """The user whose e-mail matches, case-insensitively. The index is built once: no tool
        adds users or changes an e-mail, and `load` rebuilds it."""
        with self._write_lock:
            if self._emails is None:
                self._emails = {str(u["email"]).lower(): str(u["user_id"]) for u in self.users()}
            return self._emails.get(email.lower())

    def users(self) -> Iterator[Record]:
        """Every user, in id order."""
        return self._all(users_table)

    def orders(self) -> Iterator[Record]:
        """Every order, in id order."""
        return self._all(orders_table)

    def products(self) -> Iterator[Record]:
        """Every product, in id order."""
        return self._all(products_table)

    def dump(self) -> dict[str, dict[str, Record]]:
        """All records in the db.json structure (for snapshots and comparisons)."""
        return {
            section: {key: json.loads(text) for key, text in self._reads.rows(_DUMP[table.name])}
            for section, table in _SECTIONS
        }

    def _open_transaction(self) -> Connection | None:
        """The connection of the unit of work open in this thread, if any."""
        uow: UnitOfWork | None = getattr(self._active, "uow", None)
        return None if uow is None else uow.conn

    # -- writes --------------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[UnitOfWork]:
        """A unit of work that commits on normal exit and rolls back on any exception.

        Writers are serialised: in process by a lock (an in-memory store shares one
        connection), across processes by row locks on PostgreSQL and by taking SQLite's write
        lock up front, so no writer decides on state another writer is about to change.
        A transaction opened inside another one in the same thread joins it, so a write and
        its idempotency record commit together. Inside the read block of a proposal's checks
        a transaction is refused (CONFLICT): the checks read one state and never change it.
        """
        if reading_now():
            raise TetherError(
                ErrorCode.CONFLICT,
                "a write inside the reads of a proposal's checks: checks read the store, "
                "they never change it",
            )
        if getattr(self._shared, "texts", None) is not None:
            self._shared.texts = {}  # what this thread read may be about to change
        joined: UnitOfWork | None = getattr(self._active, "uow", None)
        if joined is not None:
            yield joined
            return
        with self._write_lock, self.engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                raw = conn.connection.driver_connection
                if isinstance(raw, sqlite3.Connection) and not raw.in_transaction:
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
            self._active.uow = UnitOfWork(conn)
            try:
                yield self._active.uow
            finally:
                self._active.uow = None
