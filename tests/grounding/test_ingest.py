"""Ingest jobs on SQLite and PostgreSQL: content-hash versions, lineage that survives change,
one transaction per job, and every kind of bad input stopping the job with nothing written."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tether.core.clock import ManualClock, SequentialIds
from tether.core.errors import ErrorCode, TetherError
from tether.domains.retail.db import RetailDB
from tether.domains.retail.graph import RETAIL_IDS
from tether.domains.retail.source import RetailSource
from tether.grounding.connectors import DirectorySource
from tether.grounding.corpus import current_chunks, fingerprint, jobs, lineage, versions
from tether.grounding.graph import StoredGraph
from tether.grounding.ingest import Ingestor
from tether.store.grounding_schema import chunks, documents, relations
from tether.store.runs import RunStore

REFUNDS = "---\nid: refunds\ntitle: Refunds\nacl: [public]\n---\n# Refunds\n\nCards: 5 to 7 days.\n"


@pytest.fixture
def store(store_url: str) -> Iterator[RunStore]:
    opened = RunStore.open(store_url)
    yield opened
    opened.close()


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    (root / "guides").mkdir(parents=True)
    (root / "refunds.md").write_text(REFUNDS)
    (root / "guides" / "shipping.txt").write_text("Orders ship in 2 days. See order #W4566809.")
    (root / "faq.html").write_text("<h1>FAQ</h1><p>Ask us anything.</p>")
    (root / "logo.png").write_bytes(b"\x89PNG\r\n")
    (root / ".hidden.md").write_text("secret")
    return root


def ingestor(store: RunStore) -> Ingestor:
    return Ingestor(
        store.engine, clock=ManualClock(tick=1.0), ids=SequentialIds(), entity_ids=RETAIL_IDS
    )


def rows(store: RunStore, table: object) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_a_directory_is_ingested_with_lineage(store: RunStore, docs: Path) -> None:
    report = ingestor(store).run(DirectorySource(docs), ["public"])
    assert report.stats["added"] == 3 and report.skipped == ["logo.png"]
    found = {c.evidence_id: c for c in current_chunks(store.engine)}
    assert set(found) == {"kb:refunds#0", "kb:guides-shipping#0", "kb:faq#0"}
    shipping = found["kb:guides-shipping#0"]
    assert shipping.source == (docs / "guides" / "shipping.txt").resolve().as_uri()
    assert shipping.acl == ("public",) and len(shipping.version) == 64
    trace = lineage(store.engine, shipping.to_evidence(1.0))
    assert trace is not None
    assert trace["job"] == report.job_id and trace["current"] and trace["source"] == report.source
    assert trace["ingested_at"] >= report.started_at
    # ids found in the text are recorded as mentions in the graph
    mentioned = StoredGraph(store.engine).relations("order:#W4566809")
    assert [(r.src, r.relation) for r in mentioned] == [("kb:guides-shipping#0", "mentions")]


def test_reingesting_changes_only_what_changed_and_keeps_old_versions(
    store: RunStore, docs: Path
) -> None:
    run = ingestor(store)
    first = run.run(DirectorySource(docs), ["public"])
    old = next(c for c in current_chunks(store.engine) if c.doc_id == "refunds").to_evidence(1)
    before = rows(store, chunks)
    again = run.run(DirectorySource(docs), ["public"])
    assert again.stats == {**again.stats, "added": 0, "changed": 0, "unchanged": 3}
    assert rows(store, chunks) == before  # nothing was rewritten
    (docs / "refunds.md").write_text(REFUNDS.replace("5 to 7", "3 to 5"))
    (docs / "faq.html").unlink()
    changed = run.run(DirectorySource(docs), ["public"])
    assert (changed.count("changed"), changed.count("unchanged"), changed.count("removed")) == (
        1,
        1,
        1,
    )
    texts = {c.doc_id: c.text for c in current_chunks(store.engine)}
    assert "3 to 5" in texts["refunds"] and "faq" not in texts
    history = versions(store.engine, old.source)
    assert [h["job"] for h in history] == [first.job_id, changed.job_id]
    assert history[0]["superseded_by"] == changed.job_id and history[1]["superseded_at"] is None
    trace = lineage(store.engine, old)  # a chunk a past run cited still resolves
    assert trace is not None and trace["job"] == first.job_id and not trace["current"]
    # reverting the file makes the first version current again, without a copy
    (docs / "refunds.md").write_text(REFUNDS)
    run.run(DirectorySource(docs), ["public"])
    assert lineage(store.engine, old)["current"]  # type: ignore[index]
    assert len(versions(store.engine, old.source)) == 2


def test_fingerprint_moves_only_when_a_job_changes_something(store: RunStore, docs: Path) -> None:
    run = ingestor(store)
    run.run(DirectorySource(docs), ["public"])
    mark = fingerprint(store.engine)
    run.run(DirectorySource(docs), ["public"])
    assert fingerprint(store.engine) == mark
    (docs / "new.md").write_text("# New\n\nA new page.")
    run.run(DirectorySource(docs), ["public"])
    assert fingerprint(store.engine) != mark


@pytest.mark.parametrize(
    ("name", "raw", "code"),
    [
        ("broken.txt", "\N{EURO SIGN}".encode("cp1252"), ErrorCode.DOCUMENT_ENCODING),
        ("blob.md", b"ELF\x00\x00\x01binary", ErrorCode.DOCUMENT_BINARY),
        ("empty.md", b"\n\n", ErrorCode.DOCUMENT_EMPTY),
        ("bad.json", b"{nope", ErrorCode.DOCUMENT_MALFORMED),
        ("huge.txt", b"word " * 60, ErrorCode.DOCUMENT_TOO_LARGE),
    ],
)
def test_one_bad_document_fails_the_job_and_writes_nothing(
    store: RunStore, docs: Path, name: str, raw: bytes, code: ErrorCode
) -> None:
    (docs / name).write_bytes(raw)
    with pytest.raises(TetherError) as caught:
        ingestor(store).run(DirectorySource(docs, max_bytes=200), ["public"])
    assert caught.value.code is code and name in caught.value.message
    assert [p["file"] for p in caught.value.details["problems"]] == [name]
    assert rows(store, documents) == rows(store, chunks) == rows(store, relations) == 0
    [job] = jobs(store.engine)
    assert job["status"] == "failed" and job["error"]["code"] == code.value


def test_an_unreadable_file_fails_the_job(store: RunStore, docs: Path) -> None:
    (docs / "gone.md").symlink_to(docs / "missing.md")
    with pytest.raises(TetherError) as caught:
        ingestor(store).run(DirectorySource(docs), ["public"])
    assert caught.value.code is ErrorCode.DOCUMENT_UNREADABLE
    assert "gone.md" in caught.value.message and rows(store, documents) == 0


def test_skip_invalid_ingests_the_rest_and_keeps_a_bad_files_last_version(
    store: RunStore, docs: Path
) -> None:
    run = ingestor(store)
    run.run(DirectorySource(docs), ["public"])
    (docs / "refunds.md").write_bytes(b"caf\xe9 \xfa not text")
    (docs / "extra.txt").write_text("An extra page.")
    report = run.run(DirectorySource(docs), ["public"], skip_invalid=True)
    assert [p["code"] for p in report.problems] == ["DOCUMENT_ENCODING"]
    assert report.count("added") == 1 and report.count("removed") == 0
    assert "refunds" in {c.doc_id for c in current_chunks(store.engine)}


def test_missing_paths_empty_directories_and_id_clashes(store: RunStore, tmp_path: Path) -> None:
    with pytest.raises(TetherError) as missing:
        DirectorySource(tmp_path / "nowhere")
    assert missing.value.code is ErrorCode.DOCUMENT_UNREADABLE
    (tmp_path / "empty").mkdir()
    run = ingestor(store)
    with pytest.raises(TetherError) as empty:
        run.run(DirectorySource(tmp_path / "empty"))
    assert empty.value.code is ErrorCode.DOCUMENT_EMPTY
    for folder in ("one", "two"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "refunds.md").write_text(REFUNDS)
    run.run(DirectorySource(tmp_path / "one"), ["public"])
    with pytest.raises(TetherError) as clash:
        run.run(DirectorySource(tmp_path / "two"), ["public"])
    assert clash.value.code is ErrorCode.DATA_INVALID and "refunds" in clash.value.message


def test_labels_default_to_private_and_bad_labels_are_refused(store: RunStore, docs: Path) -> None:
    run = ingestor(store)
    report = run.run(DirectorySource(docs), skip_invalid=True)
    acl = {c.doc_id: c.acl for c in current_chunks(store.engine)}
    assert acl == {"guides-shipping": ("private",), "faq": ("private",)}
    # only the operator makes a document public: front matter `acl: [public]` alone is refused
    assert [(p["file"], p["code"]) for p in report.problems] == [
        ("refunds.md", "DOCUMENT_ACL_WIDENS")
    ]
    with pytest.raises(TetherError) as caught:
        run.run(DirectorySource(docs), ["two words"])
    assert caught.value.code is ErrorCode.DOCUMENT_MALFORMED


def test_the_retail_tables_become_owned_documents_and_a_graph(store: RunStore) -> None:
    db = RetailDB.fresh_copy()
    run = ingestor(store)
    report = run.run(RetailSource(db), ["staff"])
    assert report.stats["added"] == 1550
    by_id = {c.doc_id: c for c in current_chunks(store.engine) if c.index == 0}
    order = by_id["retail-orders-w4566809"]
    assert order.acl == ("principal:raj_sanchez_2970", "staff")
    assert "status: pending" in order.text and order.source == "db:retail/orders/#W4566809"
    assert by_id["retail-products-2985987096"].acl == ("public", "staff")
    graph = StoredGraph(store.engine)
    entities, _ = graph.count()
    assert entities == report.graph["entities_added"] > 3000
    owned = {e.id for e in graph.owned_by("raj_sanchez_2970", "order")}
    assert owned == {"order:#W7736708", "order:#W4566809", "order:#W1067251"}
    # a changed record changes one document and one entity, nothing else
    with db.transaction() as uow:
        record = uow.order("#W4566809")
        assert record is not None
        uow.put_order({**record, "status": "cancelled"})
    again = run.run(RetailSource(db), ["staff"])
    assert (again.count("changed"), again.count("unchanged")) == (1, 1549)
    assert again.graph["entities_changed"] == 1 and again.graph["entities_added"] == 0
    stored = graph.entity("order:#W4566809")
    assert stored is not None and stored.attributes["status"] == "cancelled"
