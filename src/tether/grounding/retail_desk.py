"""The retail desk's grounding, in one place: the packaged knowledge base ingested into the
system of record, a store-backed hybrid retriever that expands queries through the live
retail graph, claim verification of answers and premise verification of writes.

Settings come from the environment unless given: `TETHER_EMBEDDINGS` (none by default) and
`TETHER_CLAIMS_ON_FAIL` (`revise`, `refuse` or `escalate`; default `revise`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Engine

from tether.core.errors import ErrorCode, TetherError
from tether.grounding.connectors import DocumentsSource
from tether.grounding.documents import PACKAGED_KB_URI, load_packaged_kb
from tether.grounding.embeddings import Embedder, embedder_from_env
from tether.grounding.hybrid import StoreRetriever
from tether.grounding.ingest import Ingestor, ensure_ingested
from tether.grounding.premises import PremiseCheck
from tether.grounding.retail_graph import RetailGraph
from tether.grounding.verify import ON_FAIL, ClaimCheck
from tether.retail.db import RetailDB

DEFAULT_ON_FAIL = "revise"


@dataclass(frozen=True)
class RetailGrounding:
    """What the desk wires into its runtime."""

    retriever: StoreRetriever
    graph: RetailGraph
    claims: ClaimCheck  # answer chain, after the citation check
    premises: PremiseCheck  # tool chain, last


def claims_on_fail(environ: Mapping[str, str] | None = None) -> str:
    """`TETHER_CLAIMS_ON_FAIL`, checked (default `revise`)."""
    env = os.environ if environ is None else environ
    value = env.get("TETHER_CLAIMS_ON_FAIL", "").strip().lower() or DEFAULT_ON_FAIL
    if value not in ON_FAIL:
        raise TetherError(
            ErrorCode.CONFIG_INVALID,
            f"TETHER_CLAIMS_ON_FAIL must be one of {', '.join(ON_FAIL)}, not {value!r}",
        )
    return value


def packaged_kb_source() -> DocumentsSource:
    """The packaged knowledge base as an ingestable source (`kb://retail/`)."""
    return DocumentsSource(PACKAGED_KB_URI, load_packaged_kb())


def retail_grounding(
    engine: Engine,
    db: RetailDB,
    *,
    on_fail: str | None = None,
    embedder: Embedder | None = None,
) -> RetailGrounding:
    """The desk's retriever and checks over the store and the retail data. Before its first
    search the retriever ingests the packaged knowledge base if the store lacks it (or holds
    an older version); nothing touches the store before then."""
    graph = RetailGraph(db)
    retriever = StoreRetriever(
        engine,
        embedder=embedder or embedder_from_env(),
        graph=graph,
        setup=lambda: ensure_ingested(Ingestor(engine), packaged_kb_source()),
    )
    return RetailGrounding(
        retriever=retriever,
        graph=graph,
        claims=ClaimCheck(on_fail=on_fail or claims_on_fail()),
        premises=PremiseCheck(db),
    )
