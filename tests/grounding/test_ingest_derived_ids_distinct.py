"""Documents without an id of their own get one derived from their path, and each names one
passage (`kb:<id>#n`). Two distinct files of one folder - `returns/policy.md` and
`returns-policy.md` - must both be ingested under ids of their own, not fail the whole job
(even with --skip-invalid, which is to ingest the rest and list the bad ones)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.processes import tether


@pytest.mark.parametrize("skip", [False, True], ids=["strict", "skip-invalid"])
def test_distinct_paths_never_collide_into_one_id(
    sqlite_url: str, tmp_path: Path, skip: bool
) -> None:
    docs = tmp_path / "docs"
    (docs / "returns").mkdir(parents=True)
    (docs / "returns" / "policy.md").write_text(
        "# Return policy\n\nItems may be returned within thirty days.\n", encoding="utf-8"
    )
    (docs / "returns-policy.md").write_text(
        "# Returns desk\n\nThe returns desk opens at nine.\n", encoding="utf-8"
    )
    args = ["ingest", str(docs), "--acl", "public", *(["--skip-invalid"] if skip else [])]
    code, report = tether(sqlite_url, tmp_path / "home", *args)
    assert code == 0, report
    ids = sorted(d["doc_id"] for d in report["documents"])
    assert len(set(ids)) == 2, ids
