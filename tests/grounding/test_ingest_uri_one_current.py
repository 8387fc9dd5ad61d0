"""A document re-ingested under a narrower ACL gets a new version and its old one is superseded
(README: "a changed one gets a new version and the old one is marked superseded"): the wider
version must not stay current and keep being served. Here the operator narrows one file of a
folder they ingested earlier by ingesting that very file (or its sub-folder) with --acl staff."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.grounding.ingested import customer_finds
from tests.processes import tether

SALARIES = "# Salaries\n\nThe warehouse supervisor earns ninety-one thousand a year.\n"


@pytest.mark.parametrize("narrowed", ["file", "folder"])
def test_narrowing_one_document_leaves_no_wider_version_served(
    store_url: str, tmp_path: Path, narrowed: str
) -> None:
    docs = tmp_path / "docs"
    (docs / "hr").mkdir(parents=True)
    (docs / "hours.md").write_text("# Hours\n\nWe open at nine.\n", encoding="utf-8")
    (docs / "hr" / "salaries.md").write_text(SALARIES, encoding="utf-8")
    home = tmp_path / "home"

    code, report = tether(store_url, home, "ingest", str(docs), "--acl", "public")
    assert code == 0, report

    target = docs / "hr" / ("salaries.md" if narrowed == "file" else "")
    code, report = tether(store_url, home, "ingest", str(target), "--acl", "staff")
    if code != 0:
        pytest.fail(f"narrowing was refused, the document stays public: {report}")
    assert [d["acl"] for d in report["documents"]] == [["staff"]]

    found = customer_finds(store_url, "warehouse supervisor earns", "sara_doe_496")
    assert [(e.id, e.acl) for e in found] == [], "the public version is still served"
