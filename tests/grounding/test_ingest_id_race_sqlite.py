"""A document id belongs to one current document across all sources (a second source using it
is refused), so evidence ids `kb:<id>#n` name one passage. Two ingest processes of two
different folders using the same id, racing on one SQLite store, must not both commit it:
the corpus would then hold duplicate evidence ids and retrieval would fail for everyone."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from tests.processes import env_for
from tether.core.errors import TetherError
from tether.grounding.hybrid import StoreRetriever
from tether.store.grounding_schema import documents
from tether.store.runs import RunStore

CHILD = """
import json, sys
from pathlib import Path
from sqlalchemy import event
from tether.core.errors import TetherError
from tether.grounding.connectors import DirectorySource
from tether.grounding.ingest import Ingestor
from tether.store.db import create_store_engine

url, folder, marker = sys.argv[1:4]
engine = create_store_engine(url)  # the store is migrated already: nothing written here

@event.listens_for(engine, "before_cursor_execute")
def _first_write(conn, cursor, statement, parameters, context, many):
    # the job is about to take the write lock (BEGIN IMMEDIATE) or, where its checks ran
    # outside it, to make its first write: either way it now waits for the lock held below
    if statement.lstrip().upper().startswith(("UPDATE", "INSERT", "BEGIN")):
        Path(marker).touch()

try:
    report = Ingestor(engine).run(DirectorySource(folder), ["public"])
    print(json.dumps({"status": report.status}))
except TetherError as exc:
    print(json.dumps({"error": exc.code.value}))
"""


def test_two_sources_racing_cannot_both_own_one_document_id(
    sqlite_url: str, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    RunStore.open(sqlite_url).close()  # migrated before either job starts
    db_path = sqlite_url.removeprefix("sqlite:///")
    script = tmp_path / "child.py"
    script.write_text(CHILD, encoding="utf-8")

    children = []
    markers = []
    lock = sqlite3.connect(db_path, isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")  # both jobs read and check, then wait to write
    try:
        for name, wording in (("a", "on foot"), ("b", "by bicycle")):
            folder = tmp_path / name
            folder.mkdir()
            body = f"---\nid: shared-guide\ntitle: Guide\n---\nDeliveries arrive {wording}.\n"
            (folder / "guide.md").write_text(body, encoding="utf-8")
            marker = tmp_path / f"{name}.marker"
            markers.append(marker)
            children.append(
                subprocess.Popen(
                    [sys.executable, str(script), sqlite_url, str(folder), str(marker)],
                    env=env_for(sqlite_url, home),
                    stdout=subprocess.PIPE,
                    text=True,
                )
            )
        deadline = time.monotonic() + 25
        while not all(m.exists() for m in markers):
            assert time.monotonic() < deadline, "the jobs never reached their first write"
            assert all(c.poll() is None for c in children), "a job ended before writing"
            time.sleep(0.02)
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    outcomes = [json.loads(c.communicate(timeout=30)[0]) for c in children]

    store = RunStore.open(sqlite_url)
    try:
        with store.engine.connect() as conn:
            owners = conn.execute(
                select(func.count())
                .select_from(documents)
                .where(documents.c.doc_id == "shared-guide", documents.c.superseded_at.is_(None))
            ).scalar_one()
        assert owners == 1, f"{owners} current documents share one id: {outcomes}"
        try:
            StoreRetriever(store.engine).search("deliveries arrive", 5, {"public"})
        except TetherError as exc:  # pragma: no cover - what the duplicate ids lead to
            raise AssertionError(f"retrieval fails for everyone: {exc.code.value}") from exc
    finally:
        store.close()
