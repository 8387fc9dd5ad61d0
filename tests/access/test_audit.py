"""The audit chain: appends, signed checkpoints, and tampering caught on the real tables."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text

from tests.access.conftest import open_access
from tether.access.audit import AuditEvent, event_digest
from tether.access.canonical import canonical_json
from tether.access.control import AccessControl
from tether.store.runs import RunStore

Tamper = Callable[[str, dict[str, Any]], None]


def fill(access: AccessControl, count: int, run_id: str = "run_x") -> None:
    for i in range(count):
        data = {"i": i, "note": f"event number {i}", "email": "raj@example.com"}
        access.audit.append([AuditEvent("test.event", f"actor:{i % 3}", data, run_id)])


def tamper_on(store: RunStore) -> Tamper:
    """Run SQL against the store's real tables, bypassing tether (a raw sqlite3 connection
    to the file on SQLite)."""

    def run(sql: str, params: dict[str, Any]) -> None:
        if store.engine.dialect.name == "sqlite":
            import sqlite3

            conn = sqlite3.connect(str(store.engine.url.database))
            with conn:
                conn.execute(sql.replace(":", "@").replace("@@", ":"), params)
            conn.close()
        else:
            with store.engine.begin() as conn:
                conn.execute(text(sql), params)

    return run


def row(store: RunStore, seq: int) -> dict[str, Any]:
    with store.engine.connect() as conn:
        found = conn.execute(
            text("SELECT * FROM audit_events WHERE seq = :s"), {"s": seq}
        ).mappings()
        return dict(found.one())


def one_byte_changed(value: str) -> str:
    """`value` with one ASCII character (near the middle) replaced by another."""
    for i in [len(value) // 2, *range(len(value))]:
        ch = value[i]
        if ch.isascii() and ch.isalnum():
            swapped = "0" if ch != "0" else "1"
            return value[:i] + swapped + value[i + 1 :]
    raise AssertionError(f"nothing to change in {value!r}")


def test_the_hash_is_sha256_of_the_canonical_json_of_the_event() -> None:
    data = canonical_json({"b": [1, "ü"], "a": None})
    event = {
        "seq": 7,
        "prev": "ab" * 32,
        "ts": 1_700_000_000_123_456,
        "kind": "run.started",
        "actor": 'principal:"q"',
        "run_id": "run_1",
        "data": json.loads(data),
    }
    expected = hashlib.sha256(canonical_json(event).encode("utf-8")).hexdigest()
    assert (
        event_digest(
            7, "ab" * 32, 1_700_000_000_123_456, "run.started", 'principal:"q"', "run_1", data
        )
        == expected
    )


def test_an_untouched_chain_verifies_with_its_checkpoints(store: RunStore) -> None:
    access = open_access(store, checkpoint_every=10)
    access.keys.active_kid()  # the signing key exists (event 1): periodic checkpoints can sign
    fill(access, 25)
    access.audit.checkpoint()
    report = access.verify_audit()
    assert report.to_dict() == {
        "events": 26,
        "ok": True,
        "first_bad_seq": None,
        "checkpoints": 3,
        "anchored": 3,
        "checkpoints_missing": 0,
        "checkpoints_unanchored": 0,
        "checkpoints_out_of_order": 0,
        "checkpoints_unconfirmed": 0,
        "untrusted_keys": [],
        "bad_range": None,
    }
    assert [p.seq for p in access.audit.checkpoints()] == [10, 20, 26]


@pytest.mark.parametrize("column", ["data", "kind", "actor", "run_id", "prev_hash", "hash"])
def test_one_changed_byte_in_any_column_names_that_event(store: RunStore, column: str) -> None:
    access = open_access(store)
    fill(access, 12)
    tamper = tamper_on(store)
    for seq in (1, 6, 12):
        original = row(store, seq)[column]
        value = one_byte_changed(original) if original else "x"
        tamper(f"UPDATE audit_events SET {column} = :v WHERE seq = :s", {"v": value, "s": seq})
        report = access.verify_audit()
        assert (report.ok, report.first_bad_seq) == (False, seq), (column, seq, report)
        tamper(f"UPDATE audit_events SET {column} = :v WHERE seq = :s", {"v": original, "s": seq})
        assert access.verify_audit().ok


def test_a_changed_time_or_number_is_caught(store: RunStore) -> None:
    access = open_access(store)
    fill(access, 8)
    tamper = tamper_on(store)
    tamper("UPDATE audit_events SET ts = ts + 1 WHERE seq = 4", {})
    assert access.verify_audit().first_bad_seq == 4
    tamper("UPDATE audit_events SET ts = ts - 1 WHERE seq = 4", {})
    tamper("UPDATE audit_events SET seq = 100 WHERE seq = 5", {})  # renumbered: 5 is gone
    assert access.verify_audit().first_bad_seq == 5


@pytest.mark.parametrize("seq", [1, 5, 9])
def test_a_deleted_event_is_named(store: RunStore, seq: int) -> None:
    access = open_access(store)
    fill(access, 9)
    tamper_on(store)("DELETE FROM audit_events WHERE seq = :s", {"s": seq})
    report = access.verify_audit()
    assert (report.ok, report.first_bad_seq, report.events) == (False, seq, 8)
    assert report.checkpoints == 0


def test_reordered_events_are_caught(store: RunStore) -> None:
    access = open_access(store)
    fill(access, 6)
    tamper = tamper_on(store)
    # swap the contents of events 3 and 4, keeping their numbers
    a, b = row(store, 3), row(store, 4)
    cols = ["ts", "kind", "actor", "run_id", "data", "prev_hash", "hash"]
    for target, source in ((3, b), (4, a)):
        sets = ", ".join(f"{c} = :{c}" for c in cols)
        tamper(
            f"UPDATE audit_events SET {sets} WHERE seq = :seq",
            {**{c: source[c] for c in cols}, "seq": target},
        )
    assert access.verify_audit().first_bad_seq == 3


def test_events_added_outside_the_log_are_caught(store: RunStore) -> None:
    access = open_access(store)
    fill(access, 5)
    last = row(store, 5)
    forged = {**last, "seq": 6, "prev_hash": last["hash"], "data": '{"forged":true}'}
    forged["hash"] = event_digest(
        6,
        last["hash"],
        forged["ts"],
        forged["kind"],
        forged["actor"],
        forged["run_id"],
        forged["data"],
    )
    columns = ", ".join(forged)
    values = ", ".join(f":{c}" for c in forged)
    tamper_on(store)(f"INSERT INTO audit_events ({columns}) VALUES ({values})", forged)
    report = access.verify_audit()
    assert (report.ok, report.first_bad_seq) == (False, 6)


def test_a_consistent_rewrite_is_caught_by_the_signed_checkpoints(store: RunStore) -> None:
    access = open_access(store)
    fill(access, 4)
    access.audit.checkpoint()  # makes the signing key (event 5), then signs at 5
    fill(access, 5)
    access.audit.checkpoint()  # at 10
    tamper = tamper_on(store)
    # rewrite event 7 and re-hash everything after it, the head included: only the
    # checkpoint signature at 10 (which the tamperer cannot forge) still disagrees
    prev = row(store, 6)["hash"]
    for seq in range(7, 11):
        r = row(store, seq)
        data = '{"rewritten":true}' if seq == 7 else r["data"]
        digest = event_digest(seq, prev, r["ts"], r["kind"], r["actor"], r["run_id"], data)
        tamper(
            "UPDATE audit_events SET data = :d, prev_hash = :p, hash = :h WHERE seq = :s",
            {"d": data, "p": prev, "h": digest, "s": seq},
        )
        prev = digest
    tamper("UPDATE audit_head SET hash = :h", {"h": prev})
    report = access.verify_audit()
    assert report.ok is False
    assert report.first_bad_seq == 7  # the sink's anchors name the rewritten event itself
    assert report.checkpoints == 1


def test_a_forged_checkpoint_signature_is_caught(store: RunStore) -> None:
    access = open_access(store)
    fill(access, 3)
    point = access.audit.checkpoint()
    assert point.seq == 4
    tamper_on(store)(
        "UPDATE audit_checkpoints SET signature = :g", {"g": one_byte_changed(point.signature)}
    )
    report = access.verify_audit()
    assert (report.ok, report.first_bad_seq, report.checkpoints) == (False, point.seq, 0)


def test_concurrent_threads_keep_one_chain(store: RunStore) -> None:
    access = open_access(store, checkpoint_every=50)
    access.keys.active_kid()
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            fill(access, 40, run_id=f"run_{n}")
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    report = access.verify_audit()
    assert report.ok and report.events == 1 + 6 * 40
    assert report.checkpoints == (1 + 6 * 40) // 50


APPENDER = """
import sys
from sqlalchemy import create_engine
from tether.access.audit import AuditEvent
from tether.access.control import AccessControl
engine = create_engine(sys.argv[1].replace("postgresql://", "postgresql+psycopg://", 1))
access = AccessControl.open(engine)
for i in range(int(sys.argv[2])):
    access.audit.append([AuditEvent("proc.event", sys.argv[3], {"i": i})])
"""


def test_two_processes_on_postgresql_keep_one_chain(pg_url: str) -> None:
    store = RunStore.open(pg_url)
    open_access(store).audit.append([AuditEvent("start", "tests")])
    env = dict(os.environ)
    procs = [
        subprocess.Popen([sys.executable, "-c", APPENDER, pg_url, "150", f"proc:{n}"], env=env)
        for n in range(2)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    report = open_access(store).verify_audit()
    assert report.ok and report.events == 301
    kinds = [e.actor for e in open_access(store).audit.events(limit=400)]
    assert kinds.count("proc:0") == kinds.count("proc:1") == 150
    store.close()
