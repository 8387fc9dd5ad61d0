"""An agent is grounded only on its own sources (`Agent.grounding_sources`): with two packs
served over one PostgreSQL store, a retail run never retrieves the clinic pack's documents nor
a clinic run the retail pack's, while each still retrieves its own passages and the retail
graph's evidence; and a store retriever narrowed to some sources ranks nothing outside them,
nor can a search widen a retriever built for fewer."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tether import Message
from tether.core.types import Run
from tether.domains.clinic.pack import CLINIC
from tether.domains.retail.pack import RETAIL
from tether.grounding.connectors import DirectorySource
from tether.grounding.hybrid import StoreRetriever
from tether.grounding.ingest import Ingestor
from tether.models.scripted import ScriptedModel, parse_script
from tether.runtime.seams import RunRequest
from tether.sdk import build_desk
from tether.store import RunStore


def _retrieved(run: Run) -> list[str]:
    sources = []
    for step in run.steps:
        if str(step.kind).lower().endswith("retrieval"):
            sources += [e["source"] for e in step.data["evidence"]]
    return sources


def _foreign(sources: Sequence[str], allowed: Sequence[str]) -> list[str]:
    return [s for s in sources if not any(s.startswith(a) for a in allowed)]


def _answering() -> ScriptedModel:
    return ScriptedModel(parse_script([{"answer": "I cannot help with that."}]))


def test_each_packs_runs_are_grounded_on_its_own_sources_only(pg_url: str) -> None:
    store = RunStore.open(pg_url)
    try:
        retail = build_desk(RETAIL, store, fresh=True)
        clinic = build_desk(CLINIC, store, fresh=True)
        # the clinic desk ingests its knowledge base into the shared store, then retail its own
        hours = [Message("user", "What are your opening hours on Saturday, and the phone?")]
        clinic_run = clinic.runtime.run(RunRequest("ana-silva", hours), _answering())
        retail_run = retail.runtime.run(RunRequest("raj_sanchez_2970", hours), _answering())
        # asked again once both knowledge bases are in the store
        clinic_run = clinic.runtime.run(RunRequest("ana-silva", hours), _answering())
        for run, pack in ((retail_run, RETAIL), (clinic_run, CLINIC)):
            sources = _retrieved(run)
            assert sources, f"the {pack.name} run retrieved nothing at all"
            allowed = pack.agents[0].grounding_sources
            assert _foreign(sources, allowed) == [], f"{pack.name} grounded on another pack"
    finally:
        store.close()


def test_the_retail_graph_still_grounds_a_run_that_names_an_order(pg_url: str) -> None:
    store = RunStore.open(pg_url)
    try:
        retail = build_desk(RETAIL, store, fresh=True)
        asked = [Message("user", "What is the status of my order #W1067251?")]
        run = retail.runtime.run(RunRequest("raj_sanchez_2970", asked), _answering())
        ids = [e["id"] for s in run.steps if s.data.get("evidence") for e in s.data["evidence"]]
        assert "graph:order:#W1067251" in ids, ids  # the desk's own graph, not a document
    finally:
        store.close()


def test_a_search_ranks_only_documents_under_the_sources_it_names(
    store_url: str, tmp_path: Path
) -> None:
    store = RunStore.open(store_url)
    try:
        ingest = Ingestor(store.engine)
        for name in ("shop", "surgery"):
            (tmp_path / name).mkdir()
            (tmp_path / name / f"{name}-hours.md").write_text(
                f"# Hours\n\nThe {name} opens at nine on Saturday.", encoding="utf-8"
            )
            (tmp_path / name / f"{name}-parking.md").write_text(
                f"# Parking\n\nThe {name} has parking.", encoding="utf-8"
            )
            ingest.run(DirectorySource(tmp_path / name), ["public"])
        shop_root = (tmp_path / "shop").as_uri()
        surgery_root = (tmp_path / "surgery").as_uri()
        retriever = StoreRetriever(store.engine)
        every = {e.source for e in retriever.search("opens saturday parking", 10, {"public"})}
        assert {s.rsplit("/", 2)[-2] for s in every} == {"shop", "surgery"}
        shop = retriever.search("opens saturday parking", 10, {"public"}, [shop_root])
        assert shop and all(e.source.startswith(shop_root + "/") for e in shop)
        # a retriever built for the shop cannot be widened to the surgery by a search
        narrow = StoreRetriever(store.engine, sources=[shop_root])
        assert narrow.search("opens saturday", 10, {"public"}, [surgery_root]) == []
        found = narrow.search("opens saturday", 10, {"public"}, [shop_root])
        assert [e.source for e in found] == [shop_root + "/shop-hours.md"]
    finally:
        store.close()
