"""The retail store's records as an ingestable source (`db:retail`): one document per user,
order and product, each labelled for whoever may read it, with the graph the records form."""

from __future__ import annotations

import json
from typing import Any

from tether import ErrorCode, TetherError
from tether.domains.retail.db import Record, RetailDB
from tether.domains.retail.graph import SOURCE as RETAIL_SOURCE
from tether.domains.retail.graph import retail_graph
from tether.grounding import (
    PUBLIC_LABEL,
    Document,
    Entity,
    Relation,
    SourceDocument,
    content_version,
    principal_label,
    record_text,
    slug,
)


class RetailSource:
    """The retail store's tables: each user, order and product record is one document.

    A user's and an order's document carries the owner's principal label, a product's the
    public label; the job's labels are added to each. The records' graph comes along.
    """

    TABLES = ("products", "users", "orders")

    def __init__(self, db: RetailDB, uri: str = RETAIL_SOURCE) -> None:
        self.db = db
        self._uri = uri.rstrip("/")
        self._records: dict[str, tuple[str, Record]] | None = None

    @property
    def uri(self) -> str:
        return self._uri + "/"

    def _all(self) -> dict[str, tuple[str, Record]]:
        if self._records is None:
            data = self.db.dump()
            self._records = {
                f"{table}/{key}": (table, record)
                for table in self.TABLES
                for key, record in sorted(data.get(table, {}).items())
            }
        return self._records

    def names(self) -> list[str]:
        return list(self._all())

    def uri_of(self, name: str) -> str:
        return f"{self._uri}/{name}"

    def read(self, name: str, acl: tuple[str, ...]) -> SourceDocument:
        found = self._all().get(name)
        if found is None:
            raise TetherError(
                ErrorCode.DOCUMENT_UNREADABLE, f"{name}: no such record", {"file": name}
            )
        table, record = found
        key = name.split("/", 1)[1]
        owner = record.get("user_id") if table in ("users", "orders") else None
        labels = tuple(sorted({*acl, principal_label(str(owner)) if owner else PUBLIC_LABEL}))
        title = _title(table, key, record)
        body = record_text(title, record)
        doc_id = f"retail-{table}-{slug(key)}"
        version = content_version(doc_id, title, labels, body)
        doc = Document(doc_id, title, body, labels, self.uri_of(name), version)
        size = len(json.dumps(record, ensure_ascii=False).encode("utf-8"))
        return SourceDocument(doc, "application/json", size)

    def graph(self) -> tuple[list[Entity], list[Relation]] | None:
        return retail_graph(self.db)


def _title(table: str, key: str, record: dict[str, Any]) -> str:
    if table == "orders":
        return f"Order {key}"
    if table == "users":
        name = record.get("name") or {}
        return f"Customer {name.get('first_name', '')} {name.get('last_name', '')} ({key})"
    return f"Product {record.get('name', key)} ({key})"
