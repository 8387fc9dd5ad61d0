"""Bad front matter is DOCUMENT_MALFORMED (README, Ingestion), and a document's own `acl` only
narrows `--acl`. A Markdown file that opens a front matter block restricting itself to staff
but never closes it (or closes it with YAML's `...`) must not be ingested as a public
document with its ACL line shown as text."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.processes import tether
from tether.core.types import Principal
from tether.grounding.graph import principal_labels
from tether.grounding.hybrid import StoreRetriever
from tether.store.runs import RunStore

BODY = "\n# Payroll\n\nThe warehouse supervisor earns ninety-one thousand a year.\n"


@pytest.mark.parametrize("closing", ["", "...\n"], ids=["unterminated", "yaml-end-marker"])
def test_unclosed_front_matter_never_makes_a_document_public(
    sqlite_url: str, tmp_path: Path, closing: str
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    text = "---\ntitle: Payroll\nacl: [staff]\n" + closing + BODY
    (docs / "payroll.md").write_text(text, encoding="utf-8")

    code, report = tether(
        sqlite_url, tmp_path / "home", "ingest", str(docs), "--acl", "public", "--acl", "staff"
    )
    if not closing:  # an unclosed block is refused, never read as body text
        assert code != 0, report
    if code != 0:
        assert report["error"]["code"] == "DOCUMENT_MALFORMED", report
        return
    store = RunStore.open(sqlite_url)
    try:
        customer = principal_labels(Principal("noah_brown_6181"))
        found = StoreRetriever(store.engine).search("warehouse supervisor earns", 5, customer)
    finally:
        store.close()
    shown = [(e.id, e.acl, e.text[:60]) for e in found]
    assert shown == [], f"a staff-only document is served to customers: {shown}"
