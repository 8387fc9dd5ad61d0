"""HTML's `</head>` is optional (the body start tag, or any body content, ends the head). A
valid page that leaves it out must still be ingested with its visible text, not refused as
empty or stored without its body."""

from __future__ import annotations

from pathlib import Path

from tests.grounding.ingested import indexed_text, ingest_files

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
    code, report = ingest_files(sqlite_url, tmp_path, {"returns.html": PAGE}, "public")
    assert code == 0, report

    assert "accepted within thirty days" in indexed_text(sqlite_url)
