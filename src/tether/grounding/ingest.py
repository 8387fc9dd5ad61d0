"""Ingest jobs: read a source, version its documents by content hash, store chunks with lineage.

One job is one transaction. Every document is read and checked first; a job with any bad
document writes nothing but its own failed-job record (unless told to skip bad documents, which
are then listed and keep whatever version they had). A document whose content hash is already
current is not written again; a changed one gets a new version and the old one is marked
superseded by the job, not deleted, so the lineage of every chunk a run cited survives.

The job's ACL is a ceiling: a document that declares its own ACL (front matter) is stored with
the labels it shares with the job's, and refused (DOCUMENT_ACL_WIDENS) when it shares none;
without a job ACL it may label itself anything but `public` (see `narrow_acl`).
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, insert, select, text, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from tether.core.clock import Clock, IdSource, RandomIds, SystemClock
from tether.core.errors import ErrorCode, TetherError
from tether.grounding.connectors import Connector, SourceDocument, within_ceiling
from tether.grounding.documents import Chunk, chunk_document
from tether.grounding.formats import check_labels
from tether.grounding.graph import NO_ENTITY_IDS, Entity, EntityIds, Relation, write_graph
from tether.store.grounding_schema import chunks, documents, ingest_jobs, relations

_log = logging.getLogger(__name__)
# Documents with no ACL of their own and none given to the job are visible to no one.
DEFAULT_ACL = ("private",)
DOCUMENT_CODES = frozenset(
    {
        ErrorCode.DOCUMENT_UNREADABLE,
        ErrorCode.DOCUMENT_BINARY,
        ErrorCode.DOCUMENT_ENCODING,
        ErrorCode.DOCUMENT_EMPTY,
        ErrorCode.DOCUMENT_TOO_LARGE,
        ErrorCode.DOCUMENT_MALFORMED,
        ErrorCode.DOCUMENT_ACL_WIDENS,
        ErrorCode.DOCUMENT_OUTSIDE_ROOT,
        ErrorCode.DOCUMENT_NAME_TOO_LONG,
    }
)
_BATCH = 500
MAX_ADDRESS = 1024  # the longest document or source URI the store keeps


def _address_fits(uri: str, name: str) -> None:
    """DOCUMENT_NAME_TOO_LONG for an address the store cannot keep: PostgreSQL refused one
    mid-job as a database error, where SQLite kept it whole."""
    if len(uri) > MAX_ADDRESS:
        raise TetherError(
            ErrorCode.DOCUMENT_NAME_TOO_LONG,
            f"{name if len(name) <= 80 else '...' + name[-77:]}: its address is {len(uri)} "
            f"characters, more than the {MAX_ADDRESS} a "
            "document's may have; ingest it from a shorter path",
            {"uri": uri[:200] + "...", "length": len(uri)},
        )


Progress = Callable[[str, int, int], None]


@dataclass
class IngestReport:
    """What one job did: every document's fate, the problems met, the graph written."""

    job_id: str
    source: str
    status: str  # succeeded | failed
    started_at: float
    finished_at: float
    acl: tuple[str, ...]
    documents: list[dict[str, Any]] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # files of unsupported types
    graph: dict[str, int] = field(default_factory=dict)

    def count(self, status: str) -> int:
        """How many documents ended with this status (added, changed, unchanged, removed)."""
        return sum(1 for d in self.documents if d["status"] == status)

    @property
    def stats(self) -> dict[str, int]:
        """Counts per outcome, chunks written and problems."""
        out = {s: self.count(s) for s in ("added", "changed", "unchanged", "removed")}
        out["chunks_written"] = sum(
            d["chunks"] for d in self.documents if d["status"] in ("added", "changed")
        )
        out["problems"] = len(self.problems)
        out["skipped"] = len(self.skipped)
        return out

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (the CLI's --json output)."""
        return {
            "job": self.job_id,
            "source": self.source,
            "status": self.status,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "acl": list(self.acl),
            "stats": self.stats,
            "documents": self.documents,
            "problems": self.problems,
            "skipped": self.skipped,
            "graph": self.graph,
        }


def _mentions(doc_chunks: Sequence[Chunk], ids: EntityIds) -> list[Relation]:
    """Entity ids a document's chunks name: (chunk) --mentions--> (entity)."""
    return [
        Relation(c.evidence_id, "mentions", ident, c.source)
        for c in doc_chunks
        for ident in ids.find(c.text)
    ]


class Ingestor:
    """Runs ingest jobs against the system of record."""

    def __init__(
        self,
        engine: Engine,
        *,
        clock: Clock | None = None,
        ids: IdSource | None = None,
        max_chars: int = 700,
        entity_ids: EntityIds = NO_ENTITY_IDS,
    ) -> None:
        self.engine = engine
        self.entity_ids = entity_ids  # the domain's ids, so chunks link to what they mention
        self.clock = clock or SystemClock()
        self.ids = ids or RandomIds()
        self.max_chars = max_chars

    def run(
        self,
        connector: Connector,
        acl: Sequence[str] = (),
        *,
        skip_invalid: bool = False,
        progress: Progress | None = None,
    ) -> IngestReport:
        """Ingest everything `connector` yields as one job; raises the first document problem
        (with every problem in its details) unless `skip_invalid`."""
        labels = check_labels(list(acl), "--acl") if acl else DEFAULT_ACL
        _address_fits(connector.uri, "the source")  # before a job the store cannot record
        report = IngestReport(
            self.ids.new_id("ingest"), connector.uri, "failed", self.clock.now(), 0.0, labels
        )
        ceiling = labels if acl else None  # a document's own ACL stays within the operator's
        try:
            read = self._read(connector, labels, ceiling, report, progress)
            if report.problems and not skip_invalid:
                first = report.problems[0]
                raise TetherError(
                    ErrorCode(first["code"]),
                    first["message"],
                    {"job": report.job_id, "problems": report.problems},
                )
            if not read and not report.problems:
                raise TetherError(
                    ErrorCode.DOCUMENT_EMPTY,
                    f"{connector.uri}: no supported documents to ingest",
                    {"job": report.job_id, "skipped": report.skipped},
                )
            self._check_ids(read)
            self._store(connector, read, report)
        except TetherError as exc:
            report.finished_at = self.clock.now()
            self._record_failure(report, exc)
            raise
        except Exception as exc:  # a failure nobody foresaw still leaves its job on record
            report.finished_at = self.clock.now()
            self._record_failure(
                report, TetherError(ErrorCode.INTERNAL, f"unexpected {type(exc).__name__}")
            )
            raise
        return report

    def _read(
        self,
        connector: Connector,
        labels: tuple[str, ...],
        ceiling: tuple[str, ...] | None,
        report: IngestReport,
        progress: Progress | None,
    ) -> list[tuple[SourceDocument, list[Chunk]]]:
        names = connector.names()
        report.skipped = list(getattr(connector, "skipped", ()))
        read: list[tuple[SourceDocument, list[Chunk]]] = []
        for done, name in enumerate(names, start=1):
            try:
                found = within_ceiling(connector.read(name, labels), ceiling, name)
                _address_fits(found.document.source, name)
                read.append((found, chunk_document(found.document, self.max_chars)))
            except TetherError as exc:
                if exc.code not in DOCUMENT_CODES:
                    raise
                report.problems.append(
                    {"file": name, "uri": connector.uri_of(name), **exc.to_dict()}
                )
            if progress is not None:
                progress(name, done, len(names))
        return read

    @staticmethod
    def _check_ids(read: Sequence[tuple[SourceDocument, list[Chunk]]]) -> None:
        counts = Counter(d.document.id for d, _ in read)
        clashes = sorted(i for i, n in counts.items() if n > 1)
        if clashes:
            raise TetherError(
                ErrorCode.DATA_INVALID,
                f"document id {clashes[0]!r} is used by more than one document of the source",
                {"ids": clashes},
            )

    def _store(
        self,
        connector: Connector,
        read: Sequence[tuple[SourceDocument, list[Chunk]]],
        report: IngestReport,
    ) -> None:
        now = self.clock.now()
        try:
            with self.engine.begin() as conn:
                take_ingest_lock(conn)
                self._write(conn, connector, read, report, now)
        except IntegrityError:
            raise _conflict(connector) from None
        except SQLAlchemyError as exc:
            if getattr(getattr(exc, "orig", None), "sqlstate", None) in _RACED:
                raise _conflict(connector) from None
            raise TetherError(ErrorCode.STORE_UNAVAILABLE, f"database error: {exc}") from None

    def _write(
        self,
        conn: Connection,
        connector: Connector,
        read: Sequence[tuple[SourceDocument, list[Chunk]]],
        report: IngestReport,
        now: float,
    ) -> None:
        job = report.job_id
        current = {
            row.uri: row.version
            for row in conn.execute(
                select(documents.c.uri, documents.c.version).where(
                    documents.c.source == connector.uri, documents.c.superseded_at.is_(None)
                )
            )
        }
        self._check_foreign_ids(
            conn, connector.uri, {d.document.id: d.document.source for d, _ in read}
        )
        # a URI is one current document whatever root ingested it: a file ingested again on
        # its own (or from a sub-folder) replaces the version an enclosing folder's job stored
        held = self._held_elsewhere(conn, connector.uri, [d.document.source for d, _ in read])
        graph = connector.graph()  # structured sources state their graph; others are scanned
        doc_rows: list[dict[str, Any]] = []
        chunk_rows: list[dict[str, Any]] = []
        mention_rows: list[Relation] = []
        touched: list[str] = []
        for found, doc_chunks in read:
            doc = found.document
            entry: dict[str, Any] = {"uri": doc.source, "doc_id": doc.id, "version": doc.version}
            entry["acl"] = list(doc.acl)  # after any narrowing to the job's ACL
            stored = current.get(doc.source, held.get(doc.source))
            if stored == doc.version:
                report.documents.append({**entry, "status": "unchanged", "chunks": len(doc_chunks)})
                continue
            status = "changed" if stored is not None else "added"
            if stored is not None:
                self._supersede(conn, doc.source, job, now)
            touched.append(doc.source)
            report.documents.append({**entry, "status": status, "chunks": len(doc_chunks)})
            if graph is None:  # a touched document's mentions are rewritten, restored or not
                mention_rows += _mentions(doc_chunks, self.entity_ids)
            if self._restore(conn, doc.source, doc.version):
                continue  # this exact version was stored before: it becomes current again
            doc_rows.append(
                {
                    "uri": doc.source,
                    "version": doc.version,
                    "source": connector.uri,
                    "doc_id": doc.id,
                    "title": doc.title[:512],
                    "media_type": found.media_type,
                    "acl": json.dumps(list(doc.acl)),
                    "size": found.size,
                    "chunks": len(doc_chunks),
                    "job_id": job,
                    "ingested_at": now,
                }
            )
            chunk_rows += [
                {
                    "uri": c.source,
                    "version": c.version,
                    "idx": c.index,
                    "evidence_id": c.evidence_id,
                    "doc_id": c.doc_id,
                    "title": c.title[:512],
                    "heading": c.heading,
                    "text": c.text,
                    "acl": json.dumps(list(c.acl)),
                    "job_id": job,
                    "ingested_at": now,
                }
                for c in doc_chunks
            ]
        failed = {p["uri"] for p in report.problems}
        seen = {found.document.source for found, _ in read}
        for uri in sorted(set(current) - seen - failed):
            self._supersede(conn, uri, job, now)
            touched.append(uri)
            report.documents.append(
                {
                    "uri": uri,
                    "doc_id": "",
                    "version": current[uri],
                    "status": "removed",
                    "chunks": 0,
                }
            )
        for start in range(0, len(doc_rows), _BATCH):
            conn.execute(insert(documents), doc_rows[start : start + _BATCH])
        for start in range(0, len(chunk_rows), _BATCH):
            conn.execute(insert(chunks), chunk_rows[start : start + _BATCH])
        self._write_mentions(conn, touched, mention_rows, job)
        if graph is not None:
            report.graph = write_graph(conn, connector.uri, graph[0], graph[1], job, now)
        report.status = "succeeded"
        report.finished_at = self.clock.now()
        conn.execute(insert(ingest_jobs).values(**self._job_row(report)))

    @staticmethod
    def _held_elsewhere(conn: Connection, source: str, uris: list[str]) -> dict[str, str]:
        """The current version of each of `uris` that another source's job stored."""
        held: dict[str, str] = {}
        for start in range(0, len(uris), _BATCH):
            batch = uris[start : start + _BATCH]
            held |= {
                row.uri: row.version
                for row in conn.execute(
                    select(documents.c.uri, documents.c.version).where(
                        documents.c.uri.in_(batch),
                        documents.c.source != source,
                        documents.c.superseded_at.is_(None),
                    )
                )
            }
        return held

    @staticmethod
    def _check_foreign_ids(conn: Connection, source: str, uris: dict[str, str]) -> None:
        """A document id may belong to one current document only, across all sources; the
        document at the same URI (which this job replaces) is not another one."""
        doc_ids = sorted(uris)
        for start in range(0, len(doc_ids), _BATCH):
            batch = doc_ids[start : start + _BATCH]
            rows = conn.execute(
                select(documents.c.doc_id, documents.c.uri).where(
                    documents.c.doc_id.in_(batch),
                    documents.c.source != source,
                    documents.c.superseded_at.is_(None),
                )
            )
            row = next((r for r in rows if r.uri != uris[r.doc_id]), None)
            if row is not None:
                raise TetherError(
                    ErrorCode.DATA_INVALID,
                    f"document id {row.doc_id!r} is already used by {row.uri}",
                    {"doc_id": row.doc_id, "uri": row.uri},
                )

    @staticmethod
    def _supersede(conn: Connection, uri: str, job: str, now: float) -> None:
        conn.execute(
            update(documents)
            .where(documents.c.uri == uri, documents.c.superseded_at.is_(None))
            .values(superseded_at=now, superseded_by=job)
        )

    @staticmethod
    def _restore(conn: Connection, uri: str, version: str) -> bool:
        result = conn.execute(
            update(documents)
            .where(and_(documents.c.uri == uri, documents.c.version == version))
            .values(superseded_at=None, superseded_by=None)
        )
        return bool(result.rowcount)

    @staticmethod
    def _write_mentions(
        conn: Connection, touched: list[str], mentions: list[Relation], job: str
    ) -> None:
        for start in range(0, len(touched), _BATCH):
            batch = touched[start : start + _BATCH]
            conn.execute(
                delete(relations).where(
                    relations.c.source.in_(batch), relations.c.relation == "mentions"
                )
            )
        unique = {(m.src, m.relation, m.dst): m for m in mentions}
        rows = [
            {"src": s, "relation": r, "dst": d, "source": m.source, "job_id": job}
            for (s, r, d), m in unique.items()
        ]
        for start in range(0, len(rows), _BATCH):
            conn.execute(insert(relations), rows[start : start + _BATCH])

    @staticmethod
    def _job_row(report: IngestReport, error: dict[str, Any] | None = None) -> dict[str, Any]:
        return {
            "id": report.job_id,
            "source": report.source,
            "status": report.status,
            "started_at": report.started_at,
            "finished_at": report.finished_at,
            "acl": json.dumps(list(report.acl)),
            "stats": json.dumps(report.stats),
            "error": json.dumps(error) if error is not None else None,
        }

    def _record_failure(self, report: IngestReport, exc: TetherError) -> None:
        """Keep a record of the failed job; the failure itself is what the caller sees."""
        report.status = "failed"
        report.documents = []
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(ingest_jobs).values(**self._job_row(report, exc.to_dict())))
        except SQLAlchemyError:
            pass  # the store being down is already the error the caller gets, or a worse one


def source_versions(connector: Connector) -> dict[str, str]:
    """Each document URI `connector` would ingest now, with its version (content hash); raises
    the connector's TetherError for an unusable item."""
    return {connector.uri_of(n): connector.read(n, DEFAULT_ACL).document.version
            for n in connector.names()}  # fmt: skip


def is_current(engine: Engine, connector: Connector) -> bool:
    """True when the store's current versions of `connector`'s source are exactly what it
    would ingest now (every document read; no problem tolerated)."""
    try:
        wanted = source_versions(connector)
    except TetherError:
        return False
    with engine.connect() as conn:
        stored = {
            row.uri: row.version
            for row in conn.execute(
                select(documents.c.uri, documents.c.version).where(
                    documents.c.source == connector.uri, documents.c.superseded_at.is_(None)
                )
            )
        }
    return stored == wanted


class _Without:
    """`connector` with some of its items left out."""

    def __init__(self, connector: Connector, left: set[str]) -> None:
        self._connector = connector
        self._left = left

    @property
    def uri(self) -> str:
        return self._connector.uri

    def names(self) -> list[str]:
        return [n for n in self._connector.names() if n not in self._left]

    def uri_of(self, name: str) -> str:
        return self._connector.uri_of(name)

    def read(self, name: str, acl: tuple[str, ...]) -> SourceDocument:
        return self._connector.read(name, acl)

    def graph(self) -> tuple[list[Entity], list[Relation]] | None:
        return self._connector.graph()


def held_elsewhere(engine: Engine, connector: Connector) -> set[str]:
    """The items of `connector` whose document id a current document of another source holds
    (an operator's own `refunds.md` beside a pack's `refunds`)."""
    ids: dict[str, str] = {}
    for name in connector.names():
        try:
            ids[connector.read(name, DEFAULT_ACL).document.id] = name
        except TetherError:
            continue  # the job reports an unusable item itself
    held: set[str] = set()
    batch_ids = sorted(ids)
    with engine.connect() as conn:
        for start in range(0, len(batch_ids), _BATCH):
            held |= {
                ids[row.doc_id]
                for row in conn.execute(
                    select(documents.c.doc_id).where(
                        documents.c.doc_id.in_(batch_ids[start : start + _BATCH]),
                        documents.c.source != connector.uri,
                        documents.c.superseded_at.is_(None),
                    )
                )
            }
    return held


def ensure_ingested(ingestor: Ingestor, connector: Connector) -> IngestReport | None:
    """Ingest `connector` unless the store already holds exactly its documents; a job another
    process ran at the same moment counts as done, and one that collided with it is run again
    (once). Returns the job's report, if one ran.

    A document whose id another source's current document already holds is left out: the
    operator's own document of that id stands in for it (and this one is ingested once that
    id is free again), so an operator's ingest never leaves a pack's knowledge, and every run
    that searches it, failing on the clash."""
    for attempt in (1, 2):
        held = held_elsewhere(ingestor.engine, connector)
        if held:
            _log.warning(
                "%s: leaving out %s, whose document ids another source holds",
                connector.uri,
                ", ".join(sorted(held)),
            )
            connector = _Without(connector, held)
        if is_current(ingestor.engine, connector):
            return None
        try:
            return ingestor.run(connector)
        except TetherError as exc:
            if exc.code is not ErrorCode.CONFLICT or attempt == 2:
                raise
    return None  # not reached: the second attempt returns or raises


# key of the PostgreSQL advisory lock every ingest holds while it writes
INGEST_LOCK = 0x7E7E_1A6E
# what PostgreSQL answers a transaction it aborted for colliding with another: a deadlock, a
# serialization failure
_RACED = frozenset({"40P01", "40001"})


def take_ingest_lock(conn: Connection) -> None:
    """Serialise ingest jobs, before the job's first read: two workers starting on a fresh
    store both ingest the pack's knowledge, and their writes (documents, chunks, the shared
    entity graph) could deadlock; two sources using one document id would each pass the id
    check. The second waits, then finds the documents current (or the id taken). PostgreSQL
    takes an advisory lock; SQLite its write lock (`BEGIN IMMEDIATE`: pysqlite begins a
    transaction only at the first write, and the job's checks would be read outside it)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": INGEST_LOCK})
    elif conn.dialect.name == "sqlite":
        raw = conn.connection.driver_connection
        if isinstance(raw, sqlite3.Connection) and not raw.in_transaction:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def _conflict(connector: Connector) -> TetherError:
    return TetherError(
        ErrorCode.CONFLICT,
        f"another job changed {connector.uri} at the same time; run the ingest again",
    )
