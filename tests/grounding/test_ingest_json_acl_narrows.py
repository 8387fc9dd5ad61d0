"""A JSON document's own `acl` narrows the `--acl` ceiling, whether written as a list or as
one label (the way front matter may write it): the document must never be stored readable by
labels it did not grant itself."""

from __future__ import annotations

import json
from pathlib import Path

from tests.processes import tether
from tether.core.types import Principal
from tether.grounding.graph import principal_labels
from tether.grounding.hybrid import StoreRetriever
from tether.store.runs import RunStore


def test_json_acl_given_as_one_label_still_narrows_the_ceiling(
    store_url: str, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    memo = {
        "title": "Staff memo",
        "acl": "staff",  # one label, not a list: staff only
        "text": "The staff bonus pool for the quarter is forty thousand dollars.",
    }
    (docs / "memo.json").write_text(json.dumps(memo), encoding="utf-8")

    code, report = tether(
        store_url, tmp_path / "home", "ingest", str(docs), "--acl", "public", "--acl", "staff"
    )
    if code == 0:  # narrowed to what it asked for (or refused as malformed: also fine)
        stored = {d["doc_id"]: d["acl"] for d in report["documents"]}
        # the document asked for staff only: public must not be among its labels
        assert stored == {"memo": ["staff"]}, stored
    else:
        assert report["error"]["code"].startswith("DOCUMENT_"), report

    store = RunStore.open(store_url)
    try:
        retriever = StoreRetriever(store.engine)
        customer = principal_labels(Principal("sara_doe_496"))
        found = retriever.search("staff bonus pool quarter", 5, customer)
        assert [e.id for e in found] == [], "a customer reads a staff-only memo"
    finally:
        store.close()
