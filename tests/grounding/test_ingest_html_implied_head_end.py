"""HTML's `</head>` is optional (the body start tag, or any body content, ends the head). A
valid page that leaves it out must still be ingested with its visible text, not refused as
empty or stored without its body."""

from __future__ import annotations

from pathlib import Path

from tests.processes import tether
from tether.grounding.corpus import current_chunks
from tether.store.runs import RunStore

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Returns</title>
<body>
<h1>Returns</h1>
<p>Returns are accepted within thirty days of delivery.</p>
</body>
</html>
"""


def test_page_without_head_end_tag_keeps_its_body(sqlite_url: str, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "returns.html").write_text(PAGE, encoding="utf-8")

    code, report = tether(sqlite_url, tmp_path / "home", "ingest", str(docs), "--acl", "public")
    assert code == 0, report

    store = RunStore.open(sqlite_url)
    try:
        text = "\n".join(c.text for c in current_chunks(store.engine))
    finally:
        store.close()
    assert "accepted within thirty days" in text
