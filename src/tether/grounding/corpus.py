"""Reading the ingested corpus back: current chunks (what retrievers index), a fingerprint of
the current versions (so replicas notice a new job), lineage of evidence, jobs and history."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, or_, select

from tether.core.types import Evidence
from tether.grounding.documents import Chunk
from tether.store.db import starts_with
from tether.store.grounding_schema import chunks, documents, ingest_jobs


def _whole(prefix: str) -> bool:
    """Whether `prefix` ends where a segment does (`file://`, `kb://retail/`, `db:`)."""
    return prefix.endswith(("/", ":"))


def under(uri: str, prefix: str) -> bool:
    """Whether `uri` is `prefix` or below it, by whole segments: `kb://clinic` holds
    `kb://clinic/hours.md`, never `kb://clinical-trials/...`."""
    return (
        uri.startswith(prefix) if _whole(prefix) else uri == prefix or uri.startswith(prefix + "/")
    )


def _under(prefix: str) -> Any:
    column = documents.c.source
    if _whole(prefix):
        return starts_with(column, prefix)
    return or_(column == prefix, starts_with(column, prefix + "/"))


def _current(sources: Sequence[str] | None) -> Any:
    condition: Any = documents.c.superseded_at.is_(None)
    if sources:
        condition = condition & or_(*(_under(s) for s in sources))
    return condition


def current_chunks(engine: Engine, sources: Sequence[str] | None = None) -> list[Chunk]:
    """Every chunk of every current document version (of sources under the given URI
    prefixes, if any), in URI and chunk order."""
    return current_corpus(engine, sources)[1]


def current_corpus(engine: Engine, sources: Sequence[str] | None = None) -> tuple[str, list[Chunk]]:
    """The fingerprint of the current versions and their chunks, from one statement, so the
    two always describe the same corpus whatever job commits meanwhile."""
    stmt = (
        select(documents.c.uri.label("doc_uri"), documents.c.version.label("doc_version"), chunks)
        .select_from(
            documents.outerjoin(
                chunks,
                (documents.c.uri == chunks.c.uri) & (documents.c.version == chunks.c.version),
            )
        )
        .where(_current(sources))
        .order_by(documents.c.uri, documents.c.version, chunks.c.idx)
    )
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    pairs = {(r.doc_uri, r.doc_version) for r in rows}  # a document may have no chunk
    found = [
        Chunk(
            doc_id=r.doc_id,
            index=r.idx,
            text=r.text,
            title=r.title,
            acl=tuple(json.loads(r.acl)),
            source=r.uri,
            version=r.version,
            heading=r.heading,
        )
        for r in rows
        if r.idx is not None
    ]
    return _digest(pairs), found


def fingerprint(engine: Engine, sources: Sequence[str] | None = None) -> str:
    """sha256 over the (URI, version) pairs that are current: changes with every job that
    changed something, and only then."""
    stmt = select(documents.c.uri, documents.c.version).where(_current(sources))
    with engine.connect() as conn:
        return _digest({(uri, version) for uri, version in conn.execute(stmt)})


def _digest(pairs: set[tuple[str, str]]) -> str:
    digest = hashlib.sha256()
    for uri, version in sorted(pairs):
        digest.update(f"{uri}\x00{version}\n".encode())
    return digest.hexdigest()


def lineage(engine: Engine, evidence: Evidence) -> dict[str, Any] | None:
    """Where a piece of retrieved evidence came from: the document version, the job that
    stored it and when, and whether a later job has superseded it. None if not ingested."""
    stmt = (
        select(
            chunks.c.evidence_id,
            chunks.c.job_id,
            chunks.c.ingested_at,
            documents.c.source,
            documents.c.title,
            documents.c.media_type,
            documents.c.superseded_at,
            documents.c.superseded_by,
        )
        .join(
            documents,
            (documents.c.uri == chunks.c.uri) & (documents.c.version == chunks.c.version),
        )
        .where(
            chunks.c.uri == evidence.source,
            chunks.c.version == evidence.version,
            chunks.c.idx == evidence.chunk,
        )
    )
    with engine.connect() as conn:
        row = conn.execute(stmt).first()
    if row is None:
        return None
    return {
        "evidence_id": row.evidence_id,
        "uri": evidence.source,
        "version": evidence.version,
        "chunk": evidence.chunk,
        "source": row.source,
        "title": row.title,
        "media_type": row.media_type,
        "job": row.job_id,
        "ingested_at": row.ingested_at,
        "current": row.superseded_at is None,
        "superseded_by": row.superseded_by,
    }


def versions(engine: Engine, uri: str) -> list[dict[str, Any]]:
    """Every stored version of one document, oldest first."""
    stmt = select(documents).where(documents.c.uri == uri).order_by(documents.c.ingested_at)
    with engine.connect() as conn:
        return [
            {
                "version": r.version,
                "doc_id": r.doc_id,
                "job": r.job_id,
                "ingested_at": r.ingested_at,
                "chunks": r.chunks,
                "acl": json.loads(r.acl),
                "superseded_at": r.superseded_at,
                "superseded_by": r.superseded_by,
            }
            for r in conn.execute(stmt)
        ]


def jobs(engine: Engine, limit: int = 50) -> list[dict[str, Any]]:
    """The latest ingest jobs, newest first."""
    stmt = select(ingest_jobs).order_by(ingest_jobs.c.started_at.desc()).limit(limit)
    with engine.connect() as conn:
        return [
            {
                "job": r.id,
                "source": r.source,
                "status": r.status,
                "started_at": r.started_at,
                "finished_at": r.finished_at,
                "acl": json.loads(r.acl),
                "stats": json.loads(r.stats),
                "error": json.loads(r.error) if r.error else None,
            }
            for r in conn.execute(stmt)
        ]
