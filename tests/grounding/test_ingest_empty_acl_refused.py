"""A document's own ACL may narrow `--acl`, never widen it, and one sharing no label with it is
refused (DOCUMENT_ACL_WIDENS). A document declaring an empty ACL (`acl: []` in front matter,
`"acl": []` in JSON) names no reader; it must not be stored readable by every `--acl` label."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.processes import tether
from tether.core.types import Principal
from tether.grounding.graph import principal_labels
from tether.grounding.hybrid import StoreRetriever
from tether.store.runs import RunStore

TEXT = "The warehouse supervisor earns ninety-one thousand a year."
FILES = {
    "payroll.md": f"---\ntitle: Payroll\nacl: []\n---\n# Payroll\n\n{TEXT}\n",
    "payroll.json": json.dumps({"title": "Payroll", "acl": [], "text": TEXT}),
}


@pytest.mark.parametrize("name", sorted(FILES))
def test_empty_declared_acl_reaches_no_reader(sqlite_url: str, tmp_path: Path, name: str) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / name).write_text(FILES[name], encoding="utf-8")

    code, report = tether(
        sqlite_url, tmp_path / "home", "ingest", str(docs), "--acl", "public", "--acl", "staff"
    )
    # refused as malformed: an ACL naming no one is a mistake, never a default
    assert code != 0, report
    assert report["error"]["code"] == "DOCUMENT_MALFORMED", report
    store = RunStore.open(sqlite_url)
    try:
        customer = principal_labels(Principal("noah_brown_6181"))
        found = StoreRetriever(store.engine).search("warehouse supervisor earns", 5, customer)
    finally:
        store.close()
    assert [e.id for e in found] == []
