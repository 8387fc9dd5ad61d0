"""An agent's `grounding_sources` hold documents by whole URI segments: `kb://clinic` holds its
own documents and never those of a source that merely starts with the same letters
(`kb://clinical-trials`), in the SQL that reads the corpus and in how a search narrows a
retriever's sources."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import insert

from tether.grounding.corpus import current_chunks, under
from tether.grounding.hybrid import narrowed
from tether.store import RunStore
from tether.store.grounding_schema import chunks, documents


@pytest.mark.parametrize(
    ("uri", "prefix", "held"),
    [
        ("kb://clinic", "kb://clinic", True),
        ("kb://clinic/", "kb://clinic", True),
        ("kb://clinic/hours.md", "kb://clinic", True),
        ("kb://clinical-trials", "kb://clinic", False),
        ("kb://clinical-trials/x.md", "kb://clinic", False),
        ("file:///srv/notes/", "file://", True),
        ("file:///srv/notes-old/", "file:///srv/notes/", False),
        ("file:///srv/notes/a.md", "file:///srv/notes/", True),
        ("db:retail", "db:", True),
    ],
)
def test_a_source_is_under_a_prefix_by_whole_segments(uri: str, prefix: str, held: bool) -> None:
    assert under(uri, prefix) is held


def test_a_search_cannot_reach_a_lookalike_source_by_narrowing() -> None:
    assert narrowed(("kb://clinic",), ("kb://clinical-trials",)) == ()
    assert narrowed(("kb://clinic",), ("kb://clinic/faq",)) == ("kb://clinic/faq",)
    assert narrowed(None, ("kb://clinic",)) == ("kb://clinic",)


def test_the_corpus_query_keeps_lookalike_sources_out(tmp_path: Path) -> None:
    store = RunStore.open(f"sqlite:///{tmp_path / 't.db'}")
    with store.engine.begin() as conn:
        for source in ("kb://clinic", "kb://clinical-trials"):
            uri = f"{source}/doc.md"
            row = {"uri": uri, "version": "v1", "acl": "[]", "job_id": "j", "ingested_at": 1.0}
            conn.execute(
                insert(documents).values(
                    **row,
                    source=source,
                    doc_id=source[5:],
                    title="t",
                    media_type="text/markdown",
                    size=1,
                    chunks=1,
                )
            )
            conn.execute(
                insert(chunks).values(
                    **row,
                    idx=0,
                    evidence_id=f"kb:{source[5:]}#1",
                    doc_id=source[5:],
                    title="t",
                    heading="h",
                    text=f"text of {source}",
                )
            )
    kept = current_chunks(store.engine, ["kb://clinic"])
    store.close()
    assert [c.source for c in kept] == ["kb://clinic/doc.md"]
