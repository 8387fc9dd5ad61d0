"""A document whose address is longer than the store keeps is refused as a bad document, alike
on SQLite and PostgreSQL, through the real command: the job fails with nothing written, or
with `--skip-invalid` stores the rest and names it. PostgreSQL answered it mid-job with a
database error (STORE_UNAVAILABLE and the SQL), and SQLite stored it whole."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_cli import tether
from tether.store.runs import RunStore


def deep_folder(root: Path, levels: int) -> Path:
    """`root/docs/x…x/…` `levels` folders of 90 characters deep."""
    folder = root / "docs"
    for _ in range(levels):
        folder = folder / ("x" * 90)
    folder.mkdir(parents=True)
    return folder


def ingest(*args: str, tmp_path: Path, store_url: str) -> tuple[int, dict[str, object], str]:
    done = tether("ingest", *args, "--json", home=tmp_path / "home",
                  env={"TETHER_DATABASE_URL": store_url})  # fmt: skip
    return done.returncode, json.loads(done.stdout), done.stderr


def stored_documents(store_url: str) -> int:
    store = RunStore.open(store_url)
    try:
        with store.engine.connect() as conn:
            return int(conn.exec_driver_sql("SELECT count(*) FROM grounding_documents").scalar())
    finally:
        store.close()


def test_a_document_whose_address_is_too_long_fails_the_job_and_writes_nothing(
    store_url: str, tmp_path: Path
) -> None:
    deep = deep_folder(tmp_path, 12)  # its file's URI is past 1,024 characters
    (deep / "refunds.md").write_text("# Refunds\n\nRefunds take five business days.\n")
    (tmp_path / "docs" / "hours.md").write_text("# Hours\n\nOpen nine to five.\n")
    code, out, err = ingest(str(tmp_path / "docs"), tmp_path=tmp_path, store_url=store_url)
    assert code == 2, (out, err)
    error = out["error"]
    assert isinstance(error, dict) and error["code"] == "DOCUMENT_NAME_TOO_LONG", out
    assert "refunds.md" in error["message"] and len(error["message"]) < 300
    assert "Traceback" not in err and "INSERT" not in json.dumps(out)
    assert stored_documents(store_url) == 0

    code, out, err = ingest(
        str(tmp_path / "docs"), "--skip-invalid", tmp_path=tmp_path, store_url=store_url
    )
    assert code == 0, (out, err)
    assert [d["doc_id"] for d in out["documents"]] == ["hours"]  # type: ignore[index, union-attr]
    problems = out["problems"]
    assert isinstance(problems, list)
    assert [p["code"] for p in problems] == ["DOCUMENT_NAME_TOO_LONG"]
    assert stored_documents(store_url) == 1


def test_a_source_whose_address_is_too_long_is_refused_before_its_job(
    store_url: str, tmp_path: Path
) -> None:
    deep = deep_folder(tmp_path, 12)
    (deep / "refunds.md").write_text("# Refunds\n\nRefunds take five business days.\n")
    code, out, err = ingest(str(deep), tmp_path=tmp_path, store_url=store_url)
    assert code == 2, (out, err)
    assert out["error"]["code"] == "DOCUMENT_NAME_TOO_LONG"  # type: ignore[index]
    assert "Traceback" not in err
    assert stored_documents(store_url) == 0
