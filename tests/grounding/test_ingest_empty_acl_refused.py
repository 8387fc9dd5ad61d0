"""A document's own ACL may narrow `--acl`, never widen it, and one sharing no label with it is
refused (DOCUMENT_ACL_WIDENS). A document declaring an empty ACL (`acl: []` in front matter,
`"acl": []` in JSON) names no reader; it must not be stored readable by every `--acl` label."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.grounding.ingested import customer_finds, ingest_files

TEXT = "The warehouse supervisor earns ninety-one thousand a year."
FILES = {
    "payroll.md": f"---\ntitle: Payroll\nacl: []\n---\n# Payroll\n\n{TEXT}\n",
    "payroll.json": json.dumps({"title": "Payroll", "acl": [], "text": TEXT}),
}


@pytest.mark.parametrize("name", sorted(FILES))
def test_empty_declared_acl_reaches_no_reader(sqlite_url: str, tmp_path: Path, name: str) -> None:
    code, report = ingest_files(sqlite_url, tmp_path, {name: FILES[name]}, "public", "staff")
    # refused as malformed: an ACL naming no one is a mistake, never a default
    assert code != 0, report
    assert report["error"]["code"] == "DOCUMENT_MALFORMED", report
    assert [e.id for e in customer_finds(sqlite_url, "warehouse supervisor earns")] == []
