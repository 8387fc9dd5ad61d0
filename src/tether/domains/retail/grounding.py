"""The retail desk's grounding parts: the live retail graph for query expansion, and the
premise checks of writes against the store."""

from __future__ import annotations

from dataclasses import dataclass

from tether.domains.retail.db import RetailDB
from tether.domains.retail.graph import RetailGraph
from tether.domains.retail.premises import PremiseCheck


@dataclass(frozen=True)
class RetailGrounding:
    """What the desk gives the builder for grounding."""

    graph: RetailGraph
    premises: PremiseCheck  # tool chain, last


def retail_grounding(db: RetailDB) -> RetailGrounding:
    """The graph over the store's current records and the premise check of writes."""
    return RetailGrounding(graph=RetailGraph(db), premises=PremiseCheck(db))
