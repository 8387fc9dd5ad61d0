"""`tether ingest` refuses an argument that names nothing it can ingest: a stable code, exit 2,
and no ingestion job written."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.cli.refusal_helpers import error_of, tether


def _docs(root: Path) -> Path:
    folder = root / "docs"
    folder.mkdir()
    (folder / "returns.md").write_text("# Returns\n\nReturns are accepted within 30 days.\n")
    return folder


def _nothing_ingested(url: str, cwd: Path) -> None:
    """The store holds no document and no chunk."""
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(url)
    try:
        tables = set(inspect(engine).get_table_names())
        with engine.connect() as conn:
            for table in ("grounding_documents", "grounding_chunks"):
                if table in tables:
                    count = conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar()
                    assert count == 0, f"{table} holds {count} rows"
    finally:
        engine.dispose()


def test_an_empty_path_is_refused_not_read_as_the_current_folder(
    store_url: str, tmp_path: Path
) -> None:
    (tmp_path / "notes.md").write_text("# Private notes\n\nThe safe's code is 1234.\n")

    done = tether("ingest", "", "--json", url=store_url, cwd=tmp_path)

    assert done.returncode == 2, done.stdout[:500]
    assert error_of(done)["code"] in ("BAD_REQUEST", "DOCUMENT_UNREADABLE")
    _nothing_ingested(store_url, tmp_path)


def test_a_huge_max_bytes_is_refused_with_its_code(sqlite_url: str, tmp_path: Path) -> None:
    folder = _docs(tmp_path)

    done = tether(
        "ingest", str(folder), "--max-bytes", "9" * 30, "--json", url=sqlite_url, cwd=tmp_path
    )

    assert done.returncode == 2, done.stdout[:500]
    assert error_of(done)["code"] in ("BAD_REQUEST", "CONFIG_INVALID")


def test_a_symlink_loop_is_refused_with_its_code(sqlite_url: str, tmp_path: Path) -> None:
    loop = tmp_path / "loop"
    loop.symlink_to(loop)

    done = tether("ingest", str(loop), "--json", url=sqlite_url, cwd=tmp_path)

    assert done.returncode == 2, done.stdout[:500]
    assert error_of(done)["code"] == "DOCUMENT_UNREADABLE"


def test_a_pipe_is_refused_not_waited_on(sqlite_url: str, tmp_path: Path) -> None:
    pipe = tmp_path / "notes.md"
    os.mkfifo(pipe)  # nobody ever writes to it

    done = tether("ingest", str(pipe), "--json", url=sqlite_url, cwd=tmp_path, timeout=30)

    assert done.returncode == 2, done.stdout[:500]
    assert error_of(done)["code"] in ("DOCUMENT_UNREADABLE", "DOCUMENT_BINARY")


def test_a_pipe_inside_the_folder_is_a_bad_document_not_waited_on(
    sqlite_url: str, tmp_path: Path
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "returns.md").write_text("# Returns\n\nReturns are accepted within 30 days.\n")
    os.mkfifo(folder / "notes.md")  # nobody ever writes to it

    done = tether(
        "ingest", str(folder), "--skip-invalid", "--json", url=sqlite_url, cwd=tmp_path, timeout=30
    )

    assert done.returncode == 0, done.stdout[:500]
    report = json.loads(done.stdout)
    assert [(p["file"], p["code"]) for p in report["problems"]] == [
        ("notes.md", "DOCUMENT_UNREADABLE")
    ]
    assert report["stats"]["added"] == 1
