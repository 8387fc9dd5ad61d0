"""The knowledge graph holds `mentions` from every current chunk to the entity ids in its text
(README, Knowledge graph). A document edited and then put back as it was is current again in
its first version; its chunks still name the order, so the graph must still say so."""

from __future__ import annotations

from pathlib import Path

from tests.processes import tether
from tether.grounding.graph import StoredGraph
from tether.store.runs import RunStore

FIRST = "# Courier delays\n\nOrder #W4566809 was held at the depot for two days.\n"
EDITED = "# Courier delays\n\nOrder #W4566809 was held at the depot for three days.\n"


def _mentions(url: str) -> list[tuple[str, str]]:
    store = RunStore.open(url)
    try:
        found = StoredGraph(store.engine).relations("order:#W4566809")
    finally:
        store.close()
    return sorted((r.src, r.dst) for r in found if r.relation == "mentions")


def test_reverted_document_keeps_its_mentions(store_url: str, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    note = docs / "delays.md"
    home = tmp_path / "home"
    expected = [("kb:delays#0", "order:#W4566809")]

    statuses = []
    for body in (FIRST, EDITED, FIRST):
        note.write_text(body, encoding="utf-8")
        code, report = tether(store_url, home, "ingest", str(docs), "--acl", "public")
        assert code == 0, report
        statuses.append(report["documents"][0]["status"])
        assert _mentions(store_url) == expected, (statuses, _mentions(store_url))
    assert statuses == ["added", "changed", "changed"]
