"""`tether ingest` refuses an argument that names nothing it can ingest: a stable code, exit 2,
and no ingestion job written."""

from __future__ import annotations

from pathlib import Path

from tests.cli.refusal_helpers import error_of, tether


def _docs(root: Path) -> Path:
    folder = root / "docs"
    folder.mkdir()
    (folder / "returns.md").write_text("# Returns\n\nReturns are accepted within 30 days.\n")
    return folder


def test_a_huge_max_bytes_is_refused_with_its_code(sqlite_url: str, tmp_path: Path) -> None:
    folder = _docs(tmp_path)

    done = tether(
        "ingest", str(folder), "--max-bytes", "9" * 30, "--json", url=sqlite_url, cwd=tmp_path
    )

    assert done.returncode == 2, done.stdout[:500]
    assert error_of(done)["code"] in ("BAD_REQUEST", "CONFIG_INVALID")
