"""The knowledge graph: ids in text, the live retail view, the stored copy an ingest job makes,
and query expansion that gives a principal only their own entities."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tether.domains.retail.db import RetailDB
from tether.domains.retail.graph import RETAIL_IDS, RetailGraph
from tether.domains.retail.source import RetailSource
from tether.grounding.graph import (
    Entity,
    EntityIds,
    GraphExpander,
    Relation,
    StoredGraph,
    principal_label,
)
from tether.grounding.ingest import Ingestor
from tether.store.runs import RunStore

RAJ = "raj_sanchez_2970"
RAJ_LABELS = {"public", "customer", principal_label(RAJ)}


@pytest.fixture(scope="module")
def db() -> Iterator[RetailDB]:
    yield RetailDB.fresh_copy()


def test_ids_are_found_in_text_in_order() -> None:
    text = "Order W4566809 and #W7736708 for raj_sanchez_2970, item 6452271382, gift_card_2259499."
    assert RETAIL_IDS.find(text) == [
        "order:#W4566809",
        "order:#W7736708",
        "user:raj_sanchez_2970",
        "product:6452271382",
        "item:6452271382",
        "payment:gift_card_2259499",
    ]
    assert RETAIL_IDS.find("call 12345678901 or 3.1415926535") == []


def test_the_live_graph_links_users_orders_items_products_payments_and_fulfilments(
    db: RetailDB,
) -> None:
    graph = RetailGraph(db)
    order = graph.entity("order:#W1067251")
    assert order is not None and order.owner == RAJ and order.attributes["status"] == "delivered"
    links = {(r.src, r.relation, r.dst) for r in graph.relations("order:#W1067251")}
    assert ("user:raj_sanchez_2970", "placed", "order:#W1067251") in links
    assert ("order:#W1067251", "contains", "item:7848293342") in links
    assert ("order:#W1067251", "paid_with", "payment:credit_card_3362387") in links
    assert any(r == "fulfilled_by" for _, r, _ in links)
    item = graph.entity("item:7848293342")
    assert item is not None and item.owner is None and item.attributes["product"] == "Grill"
    product = graph.relations("item:7848293342")
    assert [(r.relation, r.dst) for r in product] == [("variant_of", "product:6819683148")]
    method = graph.entity("payment:gift_card_2259499")
    assert method is not None and method.owner == RAJ and "balance" in method.attributes
    assert graph.entity("order:#W0000000") is None and graph.entity("nonsense") is None


def test_the_live_graph_reads_the_store_as_it_is_now() -> None:
    db = RetailDB.fresh_copy()
    graph = RetailGraph(db)
    with db.transaction() as uow:
        order = uow.order("#W4566809")
        assert order is not None
        uow.put_order({**order, "status": "cancelled"})
    found = graph.entity("order:#W4566809")
    assert found is not None and found.attributes["status"] == "cancelled"


def test_expansion_pulls_in_items_products_and_owner(db: RetailDB) -> None:
    evidence = GraphExpander(RetailGraph(db), ids=RETAIL_IDS).expand(
        "Where is order #W4566809?", RAJ_LABELS
    )
    ids = [e.id for e in evidence]
    assert ids[0] == "graph:order:#W4566809"
    assert {"graph:user:raj_sanchez_2970", "graph:item:1569829406", "graph:item:5826601160"} <= set(
        ids
    )
    assert {"graph:product:2985987096", "graph:product:3821016478"} <= set(ids)
    order = json.loads(evidence[0].text)
    assert order["status"] == "pending" and order["entity"] == "order:#W4566809"
    assert "address" not in order  # evidence shows the order, not the customer's address
    owner = json.loads(next(e.text for e in evidence if e.id == "graph:user:raj_sanchez_2970"))
    assert set(owner) == {"entity", "kind", "user_id", "name"}
    assert evidence[0].source == "db:retail/orders/#W4566809" and len(evidence[0].version) == 64


def test_a_customer_gets_nothing_about_another_customers_order(db: RetailDB) -> None:
    expander = GraphExpander(RetailGraph(db), ids=RETAIL_IDS)
    other = "#W2611340"  # james_li_5688's order
    assert expander.expand(f"status of {other}?", RAJ_LABELS) == []
    # public entities named in the same query still come through
    found = expander.expand(f"{other} and product 8310926033", RAJ_LABELS)
    assert [e.id for e in found] == ["graph:product:8310926033"]
    theirs = expander.expand(other, {"public", principal_label("james_li_5688")})
    assert theirs and theirs[0].id == f"graph:order:{other}"


def test_expansion_stops_at_its_limit(db: RetailDB) -> None:
    found = GraphExpander(RetailGraph(db), limit=3, ids=RETAIL_IDS).expand("#W7736708", RAJ_LABELS)
    assert len(found) == 3 and found[0].id == "graph:order:#W7736708"


def test_the_stored_graph_matches_the_live_one_after_ingestion(store_url: str) -> None:
    db = RetailDB.fresh_copy()
    store = RunStore.open(store_url)
    Ingestor(store.engine).run(RetailSource(db))
    stored, live = StoredGraph(store.engine), RetailGraph(db)
    for ident in ("order:#W1067251", "user:raj_sanchez_2970", "item:7848293342"):
        assert stored.entity(ident) == live.entity(ident)
    assert {r.to_dict()["relation"] for r in stored.relations("order:#W1067251")} >= {
        "placed",
        "contains",
        "fulfilled_by",
        "paid_with",
    }
    found = GraphExpander(stored, ids=RETAIL_IDS).expand("#W1067251", RAJ_LABELS)
    assert found[0].id == "graph:order:#W1067251" and len(found) > 3
    store.close()


class _CountingGraph:
    """The live retail graph, noting every entity and relation list it is asked for."""

    def __init__(self, graph: RetailGraph) -> None:
        self.graph = graph
        self.asked: list[str] = []

    def entity(self, entity_id: str) -> Entity | None:
        self.asked.append(entity_id)
        return self.graph.entity(entity_id)

    def relations(self, entity_id: str) -> list[Relation]:
        self.asked.append(f"relations of {entity_id}")
        return self.graph.relations(entity_id)


def test_expansion_reads_no_neighbours_of_a_kind_it_does_not_follow(db: RetailDB) -> None:
    counting = _CountingGraph(RetailGraph(db))
    found = GraphExpander(counting, ids=RETAIL_IDS).expand("Where is order #W4566809?", RAJ_LABELS)
    plain = GraphExpander(RetailGraph(db), ids=RETAIL_IDS).expand("#W4566809", RAJ_LABELS)
    assert [e.id for e in found] == [e.id for e in plain]  # the same evidence, in order
    assert "graph:user:raj_sanchez_2970" in {e.id for e in found}  # the owner is picked...
    assert "relations of user:raj_sanchez_2970" not in counting.asked  # ...and not followed
    # raj's other orders hang off the user only: never read
    assert [a for a in counting.asked if a.startswith("order:")] == ["order:#W4566809"]
    assert len(counting.asked) == len(set(counting.asked))  # each read once


def test_a_kind_the_expansion_follows_is_still_followed(db: RetailDB) -> None:
    follows_users = EntityIds(
        RETAIL_IDS.patterns, {**RETAIL_IDS.expansion, "user": ("payment_method",)}
    )
    found = GraphExpander(RetailGraph(db), ids=follows_users).expand("#W4566809", RAJ_LABELS)
    assert "graph:payment:gift_card_2259499" in {e.id for e in found}  # the user's, not the order's
