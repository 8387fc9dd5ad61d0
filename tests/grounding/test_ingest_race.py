"""Workers starting together on a fresh store each find the pack's knowledge missing and ingest
it at once. Whichever of them writes first, every one goes on with the knowledge in place: none
fails its run over the race (on PostgreSQL the racing inserts may deadlock, and the one the
database aborts must not report the store as down), and the store holds each document once."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import select

from tether.domains.retail.knowledge import packaged_kb_source
from tether.domains.retail.pack import RETAIL
from tether.grounding.ingest import Ingestor, ensure_ingested, is_current, take_ingest_lock
from tether.store.grounding_schema import documents
from tether.store.runs import RunStore

RACERS = 6
ROUNDS = 3


def _race(url: str) -> list[BaseException]:
    """RACERS threads, each with its own engine, ingest the retail kb at the same moment."""
    stores = [RunStore.open(url) for _ in range(RACERS)]
    start = threading.Barrier(RACERS)
    failures: list[BaseException] = []

    def racer(store: RunStore) -> None:
        ingestor = Ingestor(store.engine, entity_ids=RETAIL.entity_ids)
        start.wait()
        try:
            ensure_ingested(ingestor, packaged_kb_source())
        except BaseException as exc:  # the failure is what the test reports
            failures.append(exc)

    threads = [threading.Thread(target=racer, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert is_current(stores[0].engine, packaged_kb_source())
    with stores[0].engine.connect() as conn:
        uris = Counter(
            row.uri
            for row in conn.execute(
                select(documents.c.uri).where(documents.c.superseded_at.is_(None))
            )
        )
    for s in stores:
        s.close()
    assert uris and set(uris.values()) == {1}, uris
    return failures


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_workers_racing_to_ingest_the_knowledge_all_go_on(store_url: str, round_: int) -> None:
    RunStore.open(store_url).close()  # the schema, as a deployment's migration makes it
    failures = _race(store_url)
    assert not failures, [f"{type(f).__name__}: {f}" for f in failures]


def test_an_ingest_waits_for_the_one_writing_on_postgresql(pg_url: str) -> None:
    """The lock that keeps racing ingests from deadlocking: while one job holds it, another
    waits, then finds the knowledge current and writes nothing."""
    store = RunStore.open(pg_url)
    holder = store.engine.connect()
    tx = holder.begin()
    take_ingest_lock(holder)
    done = threading.Event()
    failures: list[BaseException] = []

    def ingest() -> None:
        try:
            ensure_ingested(
                Ingestor(store.engine, entity_ids=RETAIL.entity_ids), packaged_kb_source()
            )
        except BaseException as exc:  # the failure is what the test reports
            failures.append(exc)
        done.set()

    worker = threading.Thread(target=ingest)
    worker.start()
    try:
        assert not done.wait(1.5), "the ingest wrote while another job held the lock"
    finally:
        tx.commit()
        holder.close()
    worker.join(timeout=60)
    assert done.is_set() and not failures, failures
    assert is_current(store.engine, packaged_kb_source())
    store.close()
