"""Opening the system of record: URL checks, engine set-up, migrations."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, func, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, SQLAlchemyError
from sqlalchemy.pool import QueuePool

from tether.core.errors import ErrorCode, TetherError
from tether.core.settings import whole_setting
from tether.store import checkpoints
from tether.store.startup import setting_up
from tether.store.write_gate import GatedConnection, WriteGate, gate_for

if TYPE_CHECKING:
    from alembic.config import Config

DEFAULT_HOME = Path(".tether")
SUPPORTED = ("sqlite", "postgresql")
POOL_ENV = "TETHER_DB_POOL_SIZE"
# connections a process keeps open, by backend: a server's request threads and its workers'
# runs each hold one at a time, and one opened beyond these is closed again on its return (on
# SQLite with its pragmas, on PostgreSQL with a new backend): under load that churn is costly
DEFAULT_POOL_SIZE = {"sqlite": 20, "postgresql": 5}
BUSY_TIMEOUT_S = 10.0  # how long a SQLite writer waits for the lock before it gives up


def pool_size(backend: str, environ: dict[str, str] | None = None) -> int:
    """`TETHER_DB_POOL_SIZE` (1 to 500), else the backend's default; as many more may open
    for a burst and close after it."""
    return whole_setting(POOL_ENV, DEFAULT_POOL_SIZE[backend], 1, 500, environ)


def default_url(environ: dict[str, str] | None = None) -> str:
    """`TETHER_DATABASE_URL`, else a SQLite file under `TETHER_HOME` (default `./.tether`)."""
    env = os.environ if environ is None else environ
    url = env.get("TETHER_DATABASE_URL", "").strip()
    if url:
        return url
    home = Path(env.get("TETHER_HOME", "").strip() or DEFAULT_HOME)
    return f"sqlite:///{home / 'tether.db'}"


def _normalise(url: str) -> str:
    """Accept the usual PostgreSQL spellings and use psycopg 3 for them."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes in WAL mode
    cur.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _gated(gate: WriteGate) -> Any:
    def attach(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.attach(gate)

    return attach


def _no_auto_checkpoint(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.execute("PRAGMA wal_autocheckpoint=0")  # `tether.store.checkpoints` does it


def create_store_engine(url: str) -> Engine:
    """An engine for a validated URL; raises CONFIG_INVALID or STORE_UNAVAILABLE."""
    url = _normalise(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise TetherError(
            ErrorCode.CONFIG_INVALID,
            "TETHER_DATABASE_URL is not a database URL "
            "(expected sqlite:///PATH or postgresql://USER@HOST:PORT/DB)",
        ) from None
    if parsed.get_backend_name() not in SUPPORTED:
        raise TetherError(
            ErrorCode.CONFIG_INVALID,
            f"database {parsed.get_backend_name()!r} is not supported; use sqlite or postgresql",
        )
    size = pool_size(parsed.get_backend_name())
    try:
        if parsed.get_backend_name() == "sqlite":
            database = parsed.database or ""
            if database and database != ":memory:" and not database.startswith("file:"):
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            # an in-memory database keeps SQLAlchemy's one connection per thread
            dialect: Any = parsed.get_dialect()  # SQLite's chooses the pool by the URL
            queued = issubclass(dialect.get_pool_class(parsed), QueuePool)
            pooled = {"pool_size": size, "max_overflow": max(10, size)} if queued else {}
            args: dict[str, Any] = {"check_same_thread": False}
            if queued:  # a database file: its writers take turns without sleeping
                args["factory"] = GatedConnection
            engine = create_engine(parsed, connect_args=args, **pooled)
            event.listen(engine, "connect", _sqlite_pragmas)
            if queued:  # a database file: its WAL is checkpointed off the committing threads
                event.listen(engine, "connect", _no_auto_checkpoint)
                event.listen(engine, "connect", _gated(gate_for(database, BUSY_TIMEOUT_S)))
                checkpoints.register(engine, database)
        else:
            engine = create_engine(
                parsed,
                pool_pre_ping=True,
                pool_size=size,
                max_overflow=max(10, size),
                connect_args={"connect_timeout": 5},
            )
    except (NoSuchModuleError, ArgumentError, OSError) as exc:
        raise TetherError(ErrorCode.CONFIG_INVALID, f"cannot use database URL: {exc}") from None
    return engine


def _alembic_config() -> Config:
    from alembic.config import Config  # alembic loads only when a store needs migrating

    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("tether.store") / "migrations"))
    return cfg


@contextmanager
def _all_or_nothing(conn: Connection) -> Iterator[None]:
    """One transaction around the whole upgrade, its DDL included, committed at its end.

    sqlite3 opens a transaction only before a data statement, so CREATE and ALTER would each
    commit at once: a start killed between a revision's DDL and its version row left tables
    the next start tried to create again ("table ... already exists") on every start. On
    SQLite the transaction is begun explicitly, with the driver's own begins turned off
    while it is open; PostgreSQL's DDL is transactional as it is."""
    driver: Any = conn.connection.driver_connection
    explicit = conn.dialect.name == "sqlite"
    own_begins = driver.isolation_level if explicit else None
    if explicit:
        driver.isolation_level = None
    try:
        with conn.begin():
            if explicit:
                conn.exec_driver_sql("BEGIN IMMEDIATE")  # ended by the commit or rollback
            yield
    finally:
        if explicit:
            driver.isolation_level = own_begins


# a revision file's own id and the ids it stands on: `revision = "0024"`, `down_revision =
# "0013"`, `depends_on = "0003"` (a tuple of ids where branches merge, None for the first)
_REVISION_LINE = re.compile(
    r"^(revision|down_revision|depends_on)\s*(?::[^=\n]*)?=\s*(.+)$", re.MULTILINE
)
_QUOTED = re.compile(r"""["']([^"']+)["']""")


@lru_cache(maxsize=1)
def revision_graph() -> dict[str, frozenset[str]]:
    """Each packaged migration's id with the ids it stands on (its down revisions and what it
    depends on), read off the revision files without loading alembic."""
    graph: dict[str, frozenset[str]] = {}
    folder = resources.files("tether.store") / "migrations" / "versions"
    for entry in folder.iterdir():
        if not entry.name.endswith(".py") or entry.name.startswith("__"):
            continue
        own: list[str] = []
        under: set[str] = set()
        for kind, value in _REVISION_LINE.findall(entry.read_text(encoding="utf-8")):
            ids = _QUOTED.findall(value)
            if kind == "revision":
                own.extend(ids)
            else:
                under.update(ids)
        for revision in own:
            graph[revision] = frozenset(under)
    return graph


def applied(versions: frozenset[str]) -> frozenset[str] | None:
    """Every revision a store whose version table holds `versions` has applied (those and all
    they stand on), or None when it holds one this version does not know."""
    graph = revision_graph()
    if not versions <= graph.keys():
        return None
    seen: set[str] = set()
    stack = list(versions)
    while stack:
        revision = stack.pop()
        if revision not in seen:
            seen.add(revision)
            stack.extend(graph.get(revision, ()))
    return frozenset(seen)


def _at_head(engine: Engine) -> bool:
    """Whether the store's schema is at every head already: read without a lock, as the
    upgrade would read it, so an opened store that needs nothing does not load alembic. A
    store out of reach raises, as the upgrade would."""
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return False
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars()
            return applied(frozenset(rows)) == revision_graph().keys()
    except OperationalError as exc:
        raise _unreachable(engine, exc) from None
    except SQLAlchemyError:
        return False  # the upgrade reads it again, and says what is wrong


def _unreachable(engine: Engine, exc: OperationalError) -> TetherError:
    return TetherError(
        ErrorCode.STORE_UNAVAILABLE,
        f"cannot reach the database at {engine.url.render_as_string(hide_password=True)}: "
        f"{str(exc.orig).strip().splitlines()[0] if exc.orig else exc}",
    )


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (idempotent), all of it or none of it.

    On PostgreSQL the upgrade holds an advisory lock until it commits: replicas started together
    take turns, and those after the first find the schema made instead of racing to make it. A
    store already at every head is left as it is without loading alembic."""
    if _at_head(engine):
        return
    from alembic import command
    from alembic.util import CommandError

    cfg = _alembic_config()
    try:
        # SQLite replicas started together take turns by a lock file (`tether.store.startup`)
        with setting_up(engine), engine.connect() as conn, _all_or_nothing(conn):
            if conn.dialect.name == "postgresql":
                lock = func.pg_advisory_xact_lock(func.hashtext("tether.store.migrate"))
                conn.execute(select(lock))
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "heads")  # parallel branches of revisions are allowed
    except OperationalError as exc:
        raise _unreachable(engine, exc) from None
    except SQLAlchemyError as exc:
        raise TetherError(ErrorCode.STORE_UNAVAILABLE, f"database error: {exc}") from None
    except CommandError as exc:  # a revision none of ours: a newer tether migrated the store
        raise TetherError(
            ErrorCode.STORE_SCHEMA_NEWER,
            f"the store's schema is at a revision this version of tether does not know ({exc}): "
            "a newer version migrated it; run that version or a later one against it",
        ) from None


def starts_with(column: Any, prefix: str) -> Any:
    """`column` begins with `prefix`, case and all, on every store: SQLite's LIKE ignores ASCII
    case (`notes/` would match `NOTES/`), so the LIKE that can use an index is narrowed by an
    exact comparison of the leading characters."""
    return column.startswith(prefix, autoescape=True) & (
        func.substr(column, 1, len(prefix)) == prefix
    )


def driver_sql(dialect: Any, sql: str) -> str:
    """`sql` written with `?` placeholders, in the driver's own style (sqlite3: ?, psycopg: %s)."""
    return sql if dialect.paramstyle == "qmark" else sql.replace("?", "%s")


def read_row(engine: Engine, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """The first row of one read on a pooled driver connection (`?` placeholders), for the
    few reads on every run's hot path, where a SQLAlchemy transaction costs more than the
    read itself. Raises STORE_UNAVAILABLE when the database cannot answer."""
    dbapi = engine.dialect.loaded_dbapi
    try:
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            try:
                cursor.execute(driver_sql(engine.dialect, sql), params)
                row = cursor.fetchone()
            finally:
                cursor.close()
        finally:
            raw.close()  # back to the pool, which ends the read's transaction
    except (OperationalError, dbapi.OperationalError) as exc:
        kind = type(getattr(exc, "orig", None) or exc).__name__
        raise TetherError(
            ErrorCode.STORE_UNAVAILABLE, f"the database is unavailable ({kind})"
        ) from None
    return None if row is None else tuple(row)


def write_row(engine: Engine, sql: str, params: tuple[Any, ...]) -> int:
    """Run one write (`?` placeholders) in a transaction of its own on a pooled driver
    connection and commit it: the number of rows it changed. For the few writes on every
    request's hot path, as `read_row` is for reads. The driver's own errors are raised as they
    are (`engine.dialect.loaded_dbapi`: an IntegrityError, an OperationalError), and whatever
    was not committed is rolled back as the connection goes back to the pool."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        try:
            cursor.execute(driver_sql(engine.dialect, sql), params)
            count = int(cursor.rowcount)
        finally:
            cursor.close()
        raw.commit()
    finally:
        raw.close()
    return count


def table_names(engine: Engine) -> list[str]:
    return sorted(inspect(engine).get_table_names())
