"""An agent's grounding sources hold documents by whole segments of the source URI, and a
path segment is case-sensitive (`file:///srv/notes/` and `file:///srv/NOTES/` are two
folders). On SQLite the source filter is a LIKE, which ignores ASCII case, so an agent scoped
to one folder also ranks the documents of a case-variant folder it was never given."""

from __future__ import annotations

from pathlib import Path

from tether.grounding.connectors import DirectorySource
from tether.grounding.corpus import current_chunks, under
from tether.grounding.hybrid import StoreRetriever
from tether.grounding.ingest import Ingestor
from tether.store.db import create_store_engine, migrate


def _store(tmp_path: Path):  # type: ignore[no-untyped-def]
    (tmp_path / "notes").mkdir()
    (tmp_path / "NOTES").mkdir()
    (tmp_path / "notes" / "hours.md").write_text("# Hours\nThe desk opens at nine.\n")
    (tmp_path / "NOTES" / "vault.md").write_text("# Vault\nThe vault code is zebra nine.\n")
    engine = create_store_engine(f"sqlite:///{tmp_path}/store.db")
    migrate(engine)
    ingest = Ingestor(engine)
    for folder in ("notes", "NOTES"):
        ingest.run(DirectorySource(tmp_path / folder), ["public"])
    return engine, DirectorySource(tmp_path / "notes").uri


def test_search_scoped_to_a_folder_never_ranks_its_case_variant(tmp_path: Path) -> None:
    engine, scope = _store(tmp_path)
    found = StoreRetriever(engine).search("vault code zebra", 5, ["public"], sources=[scope])
    outside = [e.source for e in found if not under(e.source, scope)]
    assert outside == [], f"scoped to {scope}, retrieval returned {outside}"


def test_current_chunks_of_a_source_hold_only_that_source(tmp_path: Path) -> None:
    engine, scope = _store(tmp_path)
    sources = sorted({c.source for c in current_chunks(engine, [scope])})
    assert all(under(s, scope) for s in sources), sources
