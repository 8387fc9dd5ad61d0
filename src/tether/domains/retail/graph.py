"""The retail store as a graph: users → orders → items → products and their variants,
users → payment methods, orders → fulfilments.

The same builders serve two readers. `retail_graph` turns every record into entities and
relations for an ingest job to materialise (with lineage). `RetailGraph` is a live view of the
same shape over the store's current records, for query expansion and policy checks that must
read authoritative values (an order's status right now), never a copy that may lag a write.
"""

from __future__ import annotations

import marshal
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tether.domains.retail.db import Record, RetailDB
from tether.grounding import Entity, EntityIds, EntityPattern, Relation

SOURCE = "db:retail"

# Ids the retail data uses, as they appear in text (an order id with or without its '#'); a
# ten-digit number may be a product or an item (variant) id, and the graph decides which.
RETAIL_IDS = EntityIds(
    patterns=(
        EntityPattern(r"(?<![\w#])#?(W\d{7})\b", ("order",), prefix="#"),
        EntityPattern(r"\b([a-z]+_[a-z]+_\d{4})\b", ("user",)),
        EntityPattern(r"\b((?:credit_card|paypal|gift_card)_\d{6,8})\b", ("payment",)),
        EntityPattern(r"(?<![\d.])(\d{10})(?![\d.])", ("product", "item")),
    ),
    # what a query about an entity of each kind pulls in, one and two hops out
    expansion={"order": ("item", "user", "fulfilment"), "item": ("product",)},
)


def _uri(table: str, key: str) -> str:
    return f"{SOURCE}/{table}/{key}"


def _method_label(method: Mapping[str, Any]) -> str:
    kind = str(method.get("source", "payment method")).replace("_", " ")
    if method.get("last_four"):
        return f"{method.get('brand', kind)} {kind} ending {method['last_four']}"
    return f"{kind} {method.get('id', '')}".strip()


def user_graph(user: Record) -> tuple[list[Entity], list[Relation]]:
    """The user, their payment methods, and the relations to those and to their orders."""
    uid = str(user["user_id"])
    uri = _uri("users", uid)
    name = user.get("name") or {}
    label = f"{name.get('first_name', '')} {name.get('last_name', '')}".strip() or uid
    summary = {"user_id": uid, "name": label}  # evidence names the owner, nothing more
    nodes = [Entity(f"user:{uid}", "user", label, uid, dict(user), uri, summary)]
    edges = [
        Relation(f"user:{uid}", "placed", f"order:{oid}", uri) for oid in user.get("orders", ())
    ]
    for mid, method in sorted((user.get("payment_methods") or {}).items()):
        attributes = {"payment_method_id": mid, "user_id": uid, **method}
        nodes.append(
            Entity(f"payment:{mid}", "payment_method", _method_label(method), uid, attributes, uri)
        )
        edges.append(Relation(f"user:{uid}", "has_payment_method", f"payment:{mid}", uri))
    return nodes, edges


def order_graph(order: Record) -> tuple[list[Entity], list[Relation]]:
    """The order, its fulfilments, and its relations to owner, items and payments."""
    oid, uid = str(order["order_id"]), str(order["user_id"])
    uri = _uri("orders", oid)
    ident = f"order:{oid}"
    nodes = [Entity(ident, "order", f"Order {oid}", uid, dict(order), uri, _order_summary(order))]
    edges = [Relation(f"user:{uid}", "placed", ident, uri)]
    edges += [
        Relation(ident, "contains", f"item:{line['item_id']}", uri) for line in order["items"]
    ]
    for n, shipment in enumerate(order.get("fulfillments") or ()):
        fid = f"fulfilment:{oid}/{n}"
        tracking = ", ".join(str(t) for t in shipment.get("tracking_id", ()))
        attributes = {"order_id": oid, **shipment}
        nodes.append(
            Entity(fid, "fulfilment", f"Shipment {tracking}".strip(), uid, attributes, uri)
        )
        edges.append(Relation(ident, "fulfilled_by", fid, uri))
        edges += [Relation(fid, "ships", f"item:{i}", uri) for i in shipment.get("item_ids", ())]
    methods = {str(p["payment_method_id"]) for p in order.get("payment_history") or ()}
    edges += [Relation(ident, "paid_with", f"payment:{m}", uri) for m in sorted(methods)]
    return nodes, edges


def _order_summary(order: Record) -> dict[str, Any]:
    """The order as evidence shows it: no address, payments by kind and amount only."""
    payments = [
        {"transaction_type": p.get("transaction_type"), "amount": p.get("amount")}
        for p in order.get("payment_history") or ()
    ]
    keep = ("order_id", "user_id", "status", "items", "fulfillments")
    return {**{k: order[k] for k in keep if k in order}, "payment_history": payments}


def product_graph(product: Record) -> tuple[list[Entity], list[Relation]]:
    """The product and each of its variants (the items orders hold)."""
    pid, name = str(product["product_id"]), str(product["name"])
    uri = _uri("products", pid)
    variants = product.get("variants") or {}
    summary = {"product_id": pid, "name": name, "variants": len(variants)}
    nodes = [Entity(f"product:{pid}", "product", name, None, summary, uri)]
    edges: list[Relation] = []
    for vid, variant in sorted(variants.items()):
        options = variant.get("options") or {}
        label = f"{name} ({', '.join(str(v) for v in options.values())})"
        attributes = {"product_id": pid, "product": name, **variant}
        nodes.append(Entity(f"item:{vid}", "item", label, None, attributes, uri))
        edges.append(Relation(f"item:{vid}", "variant_of", f"product:{pid}", uri))
    return nodes, edges


def retail_graph(db: RetailDB) -> tuple[list[Entity], list[Relation]]:
    """Every entity and relation of the store's records (for an ingest job)."""
    nodes: list[Entity] = []
    edges: list[Relation] = []
    for records, build in (
        (db.products(), product_graph),
        (db.users(), user_graph),
        (db.orders(), order_graph),
    ):
        for record in records:
            found, linked = build(record)
            nodes += found
            edges += linked
    return nodes, edges


class _Group:
    """The entities and relations one record states, indexed by entity id."""

    def __init__(
        self, found: tuple[list[Entity], list[Relation]], own: Callable[[str], bool] | None = None
    ) -> None:
        nodes, edges = found
        self.entities = {e.id: e for e in reversed(nodes)}  # the first of an id, as a scan finds
        self.relations: dict[str, list[Relation]] = {}
        for r in edges:
            self.relations.setdefault(r.src, []).append(r)
            if r.dst != r.src:
                self.relations.setdefault(r.dst, []).append(r)
        # those this record is the one read for (a payment method is read with its owner's
        # record, even were another user's record to list it too)
        self.own = {i: e for i, e in self.entities.items() if own is None or own(i)}


_NOTHING = _Group(([], []))


class RetailGraph:
    """A live `EntityGraph` over the store's current records (nothing copied, nothing stale).

    Relations are those the records state: an order lists its items, a user their orders and
    payment methods, a product its variants. Items are not indexed back to the orders that
    hold them (that would mean reading every order). Users and orders are read from the store
    on every call; products, which no tool changes, once.

    What a record states is a function of the record alone, so the entities built from one
    are kept by the record's exact content (its marshal bytes) and reused, their versions and
    evidence already serialised, whenever a read returns the same content again; a record
    that changed in any way has other content and is built anew. The entities are shared
    values: read them, never change them.
    """

    def __init__(self, db: RetailDB, *, kept: int = 512) -> None:
        self.db = db
        self._lock = threading.Lock()
        self._product_of: dict[str, str] | None = None  # item id -> product id
        self._owner_of: dict[str, str] | None = None  # payment method id -> user id
        self._products: dict[str, _Group] = {}
        self._built: OrderedDict[tuple[str, bytes], _Group] = OrderedDict()  # content -> graph
        self._kept = kept

    def _maps(self) -> tuple[dict[str, str], dict[str, str]]:
        with self._lock:
            if self._product_of is None or self._owner_of is None:
                # products never change and users never gain methods through the tools
                self._product_of = {
                    str(v): str(p["product_id"]) for p in self.db.products() for v in p["variants"]
                }
                self._owner_of = {
                    str(m): str(u["user_id"]) for u in self.db.users() for m in u["payment_methods"]
                }
            return self._product_of, self._owner_of

    def _group(self, entity_id: str) -> _Group:
        kind, _, key = entity_id.partition(":")
        if kind == "user":
            return self._user(self.db.user(key))
        if kind in ("order", "fulfilment"):
            return self._built_from(self.db.order(key.split("/")[0]), order_graph)
        if kind in ("product", "item"):
            pid = key if kind == "product" else self._maps()[0].get(key)
            return self._product(pid) if pid else _NOTHING
        if kind == "payment":
            owner = self._maps()[1].get(key)
            return self._user(self.db.user(owner) if owner else None)
        return _NOTHING

    def _user(self, user: Record | None) -> _Group:
        owner_of = self._maps()[1]
        uid = str(user["user_id"]) if user else ""

        def own(ident: str) -> bool:
            kind, _, key = ident.partition(":")
            return kind != "payment" or owner_of.get(key) == uid

        return self._built_from(user, user_graph, own)

    def _built_from(
        self,
        record: Record | None,
        build: Callable[[Record], tuple[list[Entity], list[Relation]]],
        own: Callable[[str], bool] | None = None,
    ) -> _Group:
        if not record:
            return _NOTHING
        # the exact content: marshal writes a record as it reads back, types and key order
        # included (1, 1.0 and true differ; the evidence text keeps the order of keys), so the
        # same bytes mean the same record and an equal graph
        content = (build.__name__, marshal.dumps(record))
        with self._lock:
            found = self._built.get(content)
            if found is not None:
                self._built.move_to_end(content)
                return found
        found = _Group(build(record), own)
        with self._lock:
            self._built[content] = found
            while len(self._built) > self._kept:
                self._built.popitem(last=False)
        return found

    def _product(self, product_id: str) -> _Group:
        # the catalogue is read-only for every tool, so a product's graph is built once
        with self._lock:
            found = self._products.get(product_id)
        if found is None:
            record = self.db.product(product_id)
            product_of = self._maps()[0]

            def own(ident: str) -> bool:
                kind, _, key = ident.partition(":")
                return kind != "item" or product_of.get(key) == product_id

            found = _Group(product_graph(record), own) if record else _NOTHING
            with self._lock:
                self._products[product_id] = found
        return found

    def record_of(
        self, entity_id: str
    ) -> tuple[Mapping[str, Entity], Mapping[str, Sequence[Relation]]]:
        """The entities of the record stating `entity_id` (its user, order or product) that
        are read with that record, read now, and their relations (see the grounding graph's
        `RecordGraph`)."""
        group = self._group(entity_id)
        return group.own, group.relations

    def entity(self, entity_id: str) -> Entity | None:
        """The entity as the store holds it now, or None."""
        return self._group(entity_id).entities.get(entity_id)

    def relations(self, entity_id: str) -> list[Relation]:
        """Relations the entity's own record states, plus the owner link of an order."""
        return list(self._group(entity_id).relations.get(entity_id, ()))
