"""An audit row rewritten by a database writer into a value the log never writes (a sequence
number or time that is text, bytes where text goes, data that is not JSON, a time no calendar
holds) is reported, never a crash: `tether audit verify` exits 1 naming the first bad event,
and the dashboard's audit and run pages answer, showing the event as damaged, on both stores.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.access.conftest import open_access
from tests.access.test_audit import fill
from tests.cli.test_cli import tether
from tests.server.conftest import order_run_body
from tests.server.conversation_site import Site, open_site
from tether.store.runs import RunStore


@pytest.fixture
def site(store_url: str) -> Iterator[Site]:
    with open_site(store_url, allow_scripts=True) as s:
        yield s


def _signed_chain(sqlite_url: str) -> None:
    """Ten events on SQLite, signed every four, verified intact."""
    store = RunStore.open(sqlite_url)
    access = open_access(store, checkpoint_every=4)
    access.keys.active_kid()  # the key exists, so the chain is signed every 4 events
    fill(access, 10)
    intact = access.verify_audit()
    assert intact.ok and intact.checkpoints >= 2, intact
    store.close()


def _rewrite(tmp_path: Path, sql: str) -> None:
    db = sqlite3.connect(str(tmp_path / "tether.db"))
    with db:
        db.execute(sql)
    db.close()


# -- SQLite keeps whatever type is written: a sequence number that is text ------------------

TEXT_SEQ = [
    # an event's sequence number; the verifier adds 1 to it (TypeError)
    ("UPDATE audit_events SET seq = 'x' || seq WHERE seq = 5", 5),
    # the chain head's; int('x') (ValueError)
    ("UPDATE audit_head SET seq = 'x'", None),
    # a checkpoint's; compared with an int (TypeError)
    ("UPDATE audit_checkpoints SET seq = 'x' || seq", None),
]


@pytest.mark.parametrize(("sql", "first_bad"), TEXT_SEQ, ids=["event", "head", "checkpoint"])
def test_a_sequence_number_rewritten_as_text_is_reported_as_tampering(
    sqlite_url: str, tmp_path: Path, sql: str, first_bad: int | None
) -> None:
    _signed_chain(sqlite_url)
    _rewrite(tmp_path, sql)
    proc = tether(
        "audit", "verify", "--json", home=tmp_path, env={"TETHER_DATABASE_URL": sqlite_url}
    )
    report = json.loads(proc.stdout)
    # a tampered chain: exit 1 and the report, not exit 4 with {"error": {"code": "INTERNAL"}}
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert report.get("ok") is False and report.get("first_bad_seq") is not None, report
    if first_bad is not None:
        assert report["first_bad_seq"] == first_bad, report


# Every column the verifier reads, rewritten into a type the log never writes there (SQLite
# converts a number written to a text column into text, so bytes stand for "not text").
EVENT_COLUMNS = [
    "seq = 5.5",
    "seq = x'05'",
    "ts = 'soon'",
    "ts = 1.5",
    "kind = x'41'",
    "actor = x'41'",
    "run_id = x'41'",
    "data = x'7b7d'",
    "prev_hash = x'41'",
    "hash = x'41'",
]
OTHER_ROWS = [
    "UPDATE audit_head SET hash = x'41'",
    "UPDATE audit_checkpoints SET ts = 'soon' WHERE id = 2",
    "UPDATE audit_checkpoints SET hash = x'41' WHERE id = 2",
    "UPDATE audit_checkpoints SET kid = x'41' WHERE id = 2",
    "UPDATE audit_checkpoints SET signature = x'41' WHERE id = 2",
    "UPDATE audit_checkpoints SET signature = 'not base64 !' WHERE id = 2",
]


@pytest.mark.parametrize("assignment", EVENT_COLUMNS)
def test_an_event_column_of_another_type_names_that_event(
    sqlite_url: str, tmp_path: Path, assignment: str
) -> None:
    _signed_chain(sqlite_url)
    _rewrite(tmp_path, f"UPDATE audit_events SET {assignment} WHERE seq = 5")
    store = RunStore.open(sqlite_url)
    try:
        report = open_access(store).verify_audit()
    finally:
        store.close()
    assert (report.ok, report.first_bad_seq) == (False, 5), report


@pytest.mark.parametrize("sql", OTHER_ROWS)
def test_a_head_or_checkpoint_column_of_another_type_is_reported(
    sqlite_url: str, tmp_path: Path, sql: str
) -> None:
    _signed_chain(sqlite_url)
    _rewrite(tmp_path, sql)
    store = RunStore.open(sqlite_url)
    try:
        report = open_access(store).verify_audit()
    finally:
        store.close()
    assert report.ok is False and report.first_bad_seq is not None, report


# -- the dashboard lists what it reads: each rewrite shows as a damaged event ---------------

# (assignment, whether PostgreSQL can hold it: its columns keep their types)
PAGE_REWRITES = [
    ("data = 'edited by hand'", True),
    ("data = '[1, 2]'", True),
    ("ts = 9000000000000000000", True),  # microseconds: a year past any calendar
    ("ts = -9000000000000000000", True),
    ("ts = 'soon'", False),
    ("seq = 'x' || seq", False),
    ("kind = x'41'", False),
    ("data = x'7b7d'", False),
]


@pytest.mark.parametrize(
    "assignment", [a for a, _ in PAGE_REWRITES], ids=[a for a, _ in PAGE_REWRITES]
)
def test_the_audit_and_run_pages_show_a_rewritten_event_as_damaged(
    site: Site, assignment: str
) -> None:
    engine = site.desk.store.engine
    if engine.dialect.name != "sqlite" and not dict(PAGE_REWRITES)[assignment]:
        pytest.skip("PostgreSQL refuses a value of another type in this column")
    with site.client("admin") as admin:
        run = admin.post("/v1/runs?wait=30", json=order_run_body())
        assert run.status_code == 200, run.text
        run_id = run.json()["id"]
        with engine.begin() as conn:
            seq = conn.execute(
                text("SELECT min(seq) FROM audit_events WHERE run_id = :r"), {"r": run_id}
            ).scalar_one()
            conn.execute(text(f"UPDATE audit_events SET {assignment} WHERE seq = :s"), {"s": seq})
        audit = admin.get("/audit")
        run_page = admin.get(f"/runs/{run_id}")
        events = admin.get(f"/audit?run={run_id}")
    # the page verifies the chain on every visit and names the first bad event
    assert audit.status_code == 200, f"{audit.status_code} {audit.text[:200]}"
    assert 'class="badge effect-deny">broken<' in audit.text
    assert f'First bad event</dt><dd><strong class="error">{seq}</strong>' in audit.text
    for page in (audit, run_page, events):
        assert page.status_code == 200, f"{page.status_code} {page.text[:200]}"
        assert 'class="badge effect-deny">damaged<' in page.text


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_head SET seq = 'x'",
        "UPDATE audit_head SET hash = x'41'",
        "UPDATE audit_checkpoints SET ts = 'soon'",
        "UPDATE audit_checkpoints SET seq = 'x' || seq",
    ],
)
def test_the_audit_page_reports_a_rewritten_head_or_checkpoint(sqlite_url: str, sql: str) -> None:
    with open_site(sqlite_url, allow_scripts=True) as site, site.client("admin") as admin:
        assert admin.post("/v1/runs?wait=30", json=order_run_body()).status_code == 200
        access = site.desk.access
        assert access is not None
        access.audit.checkpoint()
        assert "intact" in admin.get("/audit").text
        with site.desk.store.engine.begin() as conn:
            conn.execute(text(sql))
        audit = admin.get("/audit")
    assert audit.status_code == 200, f"{audit.status_code} {audit.text[:200]}"
    assert 'class="badge effect-deny">broken<' in audit.text
    assert "First bad event" in audit.text


def test_the_event_list_prints_a_damaged_event(sqlite_url: str, tmp_path: Path) -> None:
    _signed_chain(sqlite_url)
    _rewrite(tmp_path, "UPDATE audit_events SET data = x'00ff', ts = 'soon' WHERE seq = 5")
    env = {"TETHER_DATABASE_URL": sqlite_url}
    table = tether("audit", "events", home=tmp_path, env=env)
    assert table.returncode == 0 and "damaged" in table.stdout, table.stdout + table.stderr
    proc = tether("audit", "events", "--json", home=tmp_path, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    listed = {e["seq"]: e for e in json.loads(proc.stdout)["events"]}
    assert listed[5]["damaged"] == "data is not a JSON object; ts is not a time", listed[5]
    assert listed[5]["at"] is None and listed[4]["damaged"] == ""
