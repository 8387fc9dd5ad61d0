"""A retrieval index is cached only under the fingerprint of the chunks it was built from.

The fingerprint and the chunks come from one read, so an ingest committing while an index is
built never files the new chunks under the old fingerprint: after a relabel lands mid-build and
is reverted, retrieval serves the reverted document's current ACL, and a staff passage never
reaches a public principal. The moment between the fingerprint check and the build is held
open with an engine event that runs the relabelling job as `tether ingest` in another process
just before the chunks are read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event

from tests.cli.test_cli import tether
from tether.grounding.connectors import DirectorySource
from tether.grounding.corpus import current_chunks, current_corpus, fingerprint
from tether.grounding.hybrid import StoreRetriever
from tether.grounding.ingest import Ingestor
from tether.store.runs import RunStore

VAULT = "---\nid: vault\nacl: [{acl}]\n---\n# Vault\n\nThe vault code is 4711.\n"


def test_a_reverted_relabel_is_what_retrieval_serves(store_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "hours.md").write_text("---\nid: hours\n---\n# Hours\n\nThe vault opens at 9.\n")

    def ingest(acl: str, *, process: bool = False) -> None:
        (folder / "vault.md").write_text(VAULT.format(acl=acl))
        if not process:  # the operator's own jobs, in process
            Ingestor(store.engine).run(DirectorySource(folder), ["public", "staff"])
            return
        proc = tether(
            "ingest", str(folder), "--acl", "public", "--acl", "staff", "--json",
            home=tmp_path / "home", env={"TETHER_DATABASE_URL": store_url}, timeout=60,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stdout + proc.stderr

    store = RunStore.open(store_url)
    try:
        ingest("staff")  # job 1: the vault note is for staff
        fired: list[bool] = []

        def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            reads_chunks = (
                statement.lstrip().startswith("SELECT") and "grounding_chunks" in statement
            )
            if reads_chunks and not fired:  # the build's read of the chunks
                fired.append(True)
                ingest("public", process=True)  # job 2, another process, lands in between

        event.listen(store.engine, "before_cursor_execute", before)
        StoreRetriever(store.engine).search("vault code", 5, ["public"])
        event.remove(store.engine, "before_cursor_execute", before)
        assert fired
        ingest("staff")  # job 3: the operator reverts the relabelling

        current = {c.source: c for c in current_chunks(store.engine)}
        vault = next(c for c in current.values() if c.doc_id == "vault")
        assert vault.acl == ("staff",)  # what the store says now
        found = StoreRetriever(store.engine).search("vault code", 5, ["public"])
        leaked = [e for e in found if "4711" in e.text]
        assert not leaked, [(e.id, e.acl, e.version, vault.version) for e in leaked]
    finally:
        store.close()


def test_the_cheap_fingerprint_finds_the_index_built_with_its_chunks(
    store_url: str, tmp_path: Path
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "hours.md").write_text("---\nid: hours\n---\n# Hours\n\nThe vault opens at 9.\n")
    store = RunStore.open(store_url)
    try:
        Ingestor(store.engine).run(DirectorySource(folder), ["public"])
        mark, found = current_corpus(store.engine)
        assert mark == fingerprint(store.engine) and [c.doc_id for c in found] == ["hours"]
        retriever = StoreRetriever(store.engine)
        retriever.search("vault", 5, ["public"])
        assert retriever.refresh() is False  # the per-search check reuses the cached index
    finally:
        store.close()
