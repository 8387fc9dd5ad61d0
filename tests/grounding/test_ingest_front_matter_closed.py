"""Bad front matter is DOCUMENT_MALFORMED (README, Ingestion), and a document's own `acl` only
narrows `--acl`. A Markdown file that opens a front matter block restricting itself to staff
but never closes it (or closes it with YAML's `...`) must not be ingested as a public
document with its ACL line shown as text."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.grounding.ingested import customer_finds, ingest_files

BODY = "\n# Payroll\n\nThe warehouse supervisor earns ninety-one thousand a year.\n"


@pytest.mark.parametrize("closing", ["", "...\n"], ids=["unterminated", "yaml-end-marker"])
def test_unclosed_front_matter_never_makes_a_document_public(
    sqlite_url: str, tmp_path: Path, closing: str
) -> None:
    text = "---\ntitle: Payroll\nacl: [staff]\n" + closing + BODY
    code, report = ingest_files(sqlite_url, tmp_path, {"payroll.md": text}, "public", "staff")
    if not closing:  # an unclosed block is refused, never read as body text
        assert code != 0, report
    if code != 0:
        assert report["error"]["code"] == "DOCUMENT_MALFORMED", report
        return
    found = customer_finds(sqlite_url, "warehouse supervisor earns")
    shown = [(e.id, e.acl, e.text[:60]) for e in found]
    assert shown == [], f"a staff-only document is served to customers: {shown}"
