"""An agent's grounding sources hold documents by whole segments of the source URI, and a
path segment is case-sensitive (`file:///srv/notes/` and `file:///srv/NOTES/` are two
folders). SQLite's LIKE ignores ASCII case, so a source filter (or a graph sync's delete) that
were only a LIKE would reach a case-variant folder: an agent scoped to one folder would rank the
documents of another it was never given. Every store compares prefixes exactly."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from tether.grounding.connectors import DirectorySource
from tether.grounding.corpus import current_chunks, under
from tether.grounding.graph import Entity, Relation, write_graph
from tether.grounding.hybrid import StoreRetriever
from tether.grounding.ingest import Ingestor
from tether.store.db import create_store_engine, migrate
from tether.store.grounding_schema import entities, relations

FOLDERS = ("notes", "NOTES", "notes_2", "Notes%", "café", "CAFÉ", "notes/inner")


def _store(tmp_path: Path, url: str = "", scope: str = "notes"):  # type: ignore[no-untyped-def]
    for i, folder in enumerate(FOLDERS):
        (tmp_path / "docs" / folder).mkdir(parents=True, exist_ok=True)
        name = f"doc{i}"
        (tmp_path / "docs" / folder / f"{name}.md").write_text(
            f"# Vault {name}\nThe vault code is zebra nine.\n"
        )
    engine = create_store_engine(url or f"sqlite:///{tmp_path}/store.db")
    migrate(engine)
    ingest = Ingestor(engine)
    for folder in FOLDERS:
        if folder != "notes/inner":  # held by notes/ itself
            ingest.run(DirectorySource(tmp_path / "docs" / folder), ["public"])
    return engine, DirectorySource(tmp_path / "docs" / scope).uri


def test_search_scoped_to_a_folder_never_ranks_its_case_variant(tmp_path: Path) -> None:
    engine, scope = _store(tmp_path)
    found = StoreRetriever(engine).search("vault code zebra", 5, ["public"], sources=[scope])
    outside = [e.source for e in found if not under(e.source, scope)]
    assert outside == [], f"scoped to {scope}, retrieval returned {outside}"


def test_current_chunks_of_a_source_hold_only_that_source(tmp_path: Path) -> None:
    engine, scope = _store(tmp_path)
    sources = sorted({c.source for c in current_chunks(engine, [scope])})
    assert all(under(s, scope) for s in sources), sources


@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
@pytest.mark.parametrize("scope", ["notes", "café", "Notes%"])
def test_a_scope_holds_its_own_folder_and_below_and_nothing_else(
    tmp_path: Path, store_url: str, scope: str
) -> None:
    engine, uri = _store(tmp_path, store_url, scope)
    sources = {c.source for c in current_chunks(engine, [uri])}
    assert sources and all(under(s, uri) for s in sources), sources
    names = {s.rsplit("/", 1)[-1] for s in sources}
    held = {FOLDERS.index(scope)} | ({FOLDERS.index("notes/inner")} if scope == "notes" else set())
    assert names == {f"doc{i}.md" for i in held}


@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
def test_a_graph_sync_leaves_a_case_variant_source_alone(store_url: str) -> None:
    engine = create_store_engine(store_url)
    migrate(engine)

    def sync(source: str, keys: list[str]) -> None:
        found = [Entity(f"item:{source}{k}", "item", k, source=f"{source}{k}") for k in keys]
        edges = [Relation(e.id, "in", found[0].id, e.source) for e in found[1:]]
        with engine.begin() as conn:
            write_graph(conn, source, found, edges, "job", 1.0)

    sync("db://shop/", ["a", "b"])
    sync("db://SHOP/", ["a", "b"])
    sync("db://shop/", ["a"])  # b vanished from db://shop/ only
    with engine.connect() as conn:
        ids = sorted(conn.execute(select(entities.c.id)).scalars())
        edges = sorted(conn.execute(select(relations.c.src)).scalars())
    assert ids == ["item:db://SHOP/a", "item:db://SHOP/b", "item:db://shop/a"]
    assert edges == ["item:db://SHOP/b"]
