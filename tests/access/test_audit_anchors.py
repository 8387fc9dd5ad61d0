"""The audit's trust outside the database: the key file, the trust file, the checkpoint sink."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text

from tests.access.conftest import open_access
from tests.access.test_audit import fill
from tether.access.anchors import AnchorRecord
from tether.access.audit import AuditEvent
from tether.access.canonical import b64url
from tether.access.keysource import key_id_for
from tether.access.settings import AccessSettings
from tether.core.errors import ErrorCode, TetherError
from tether.store.runs import RunStore


def test_the_first_use_makes_a_private_key_file_and_pins_it(
    sqlite_store: RunStore, tmp_path: Path
) -> None:
    access = open_access(sqlite_store)
    kid = access.keys.active_kid()
    key_file = tmp_path / "audit-signing.key"  # beside the database file
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert "PRIVATE KEY" in key_file.read_text()
    (pinned,) = json.loads((tmp_path / "audit-trust.json").read_text())
    assert pinned["key_id"] == kid and pinned["note"] == "first use"
    assert set(pinned) >= {"key_id", "public_key", "added_at", "note"}
    # another instance (another process, same data directory) signs with the same key
    assert open_access(sqlite_store).keys.active_kid() == kid


def test_the_sink_holds_each_checkpoint_as_a_json_line(
    sqlite_store: RunStore, tmp_path: Path
) -> None:
    access = open_access(sqlite_store, checkpoint_every=4)
    access.keys.active_kid()
    fill(access, 8)
    lines = (tmp_path / "audit-checkpoints.jsonl").read_text().splitlines()
    # each checkpoint twice: prepared (with the digests) before its commit, committed after it
    stages = [(r["seq"], r["stage"]) for r in map(json.loads, lines)]
    assert stages == [(4, "prepared"), (4, "committed"), (8, "prepared"), (8, "committed")]
    records = [json.loads(line) for line in lines[::2]]
    assert set(records[0]) >= {"seq", "hash", "key_id", "signature", "at"}
    points = access.audit.checkpoints()
    assert [(r["hash"], r["key_id"]) for r in records] == [(p.hash, p.kid) for p in points]
    assert len(records[1]["events"]) == 4 and records[1]["after"] == 4


def test_a_checkpoint_in_a_rolled_back_transaction_never_reaches_the_sink(
    sqlite_store: RunStore, tmp_path: Path
) -> None:
    access = open_access(sqlite_store, checkpoint_every=3)
    access.keys.active_kid()
    with pytest.raises(RuntimeError), sqlite_store.engine.begin() as conn:
        access.audit.append_in(conn, [AuditEvent("doomed", "tests", {"i": i}) for i in range(4)])
        assert len(access.audit.checkpoints()) == 0  # not committed yet
        raise RuntimeError("the caller's transaction fails")
    assert not (tmp_path / "audit-checkpoints.jsonl").exists()
    fill(access, 4)  # the same sequence numbers again, other events: checkpoint at 3
    report = access.verify_audit()
    assert report.ok and report.anchored == 1, report


def test_an_unwritable_sink_stops_the_checkpoint(sqlite_store: RunStore, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    access = open_access(sqlite_store, audit_sink_file=str(blocker / "sink.jsonl"))
    fill(access, 2)
    with pytest.raises(TetherError) as caught:
        access.audit.checkpoint()
    assert caught.value.code is ErrorCode.STORE_UNAVAILABLE
    assert access.audit.checkpoints() == []  # nothing signed that the sink does not hold
    assert open_access(sqlite_store, audit_sink_file=str(tmp_path / "s.jsonl")).verify_audit().ok


def test_a_key_from_the_environment_signs_and_cannot_be_rotated_here(
    sqlite_store: RunStore, tmp_path: Path
) -> None:
    seed = Ed25519PrivateKey.generate()
    raw = seed.private_bytes_raw()
    env = AccessSettings.from_env({"TETHER_AUDIT_SIGNING_KEY": b64url(raw)})
    access = open_access(sqlite_store, audit_signing_key=env.audit_signing_key)
    kid = access.keys.active_kid()
    assert kid == key_id_for(seed.public_key().public_bytes_raw())
    assert not (tmp_path / "audit-signing.key").exists()
    assert b64url(raw) not in repr(env)  # settings never print the key
    fill(access, 2)
    access.audit.checkpoint()
    assert access.verify_audit().ok
    with pytest.raises(TetherError) as caught:
        access.keys.rotate(actor="tests")
    assert caught.value.code is ErrorCode.CONFIG_INVALID
    with pytest.raises(TetherError) as caught:
        open_access(sqlite_store, audit_signing_key="not a key")
    assert caught.value.code is ErrorCode.CONFIG_INVALID


def test_a_damaged_trust_file_is_a_configuration_error(
    sqlite_store: RunStore, tmp_path: Path
) -> None:
    (tmp_path / "audit-trust.json").write_text("{not json")
    with pytest.raises(TetherError) as caught:
        open_access(sqlite_store).keys.active_kid()
    assert caught.value.code is ErrorCode.CONFIG_INVALID


def test_a_removed_trust_entry_fails_its_checkpoints(
    sqlite_store: RunStore, tmp_path: Path
) -> None:
    access = open_access(sqlite_store)
    fill(access, 3)
    point = access.audit.checkpoint()
    (tmp_path / "audit-trust.json").write_text("[]")
    report = open_access(sqlite_store).verify_audit()
    assert report.ok is False and report.untrusted_keys == [point.kid]


APPENDER = """
import sys
from sqlalchemy import create_engine
from tether.access.anchors import AnchorRecord
from tether.access.audit import AuditEvent
from tether.access.control import AccessControl
from tether.access.settings import AccessSettings
engine = create_engine(sys.argv[1])
access = AccessControl.open(engine, settings=AccessSettings(checkpoint_every=7))
for i in range(int(sys.argv[2])):
    access.audit.append([AuditEvent("proc.event", sys.argv[3], {"i": i})])
    if i % 25 == 0:
        access.audit.checkpoint()
"""


def test_processes_share_one_key_one_trust_file_and_one_sink(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tether.db'}"
    store = RunStore.open(url)
    procs = [
        subprocess.Popen([sys.executable, "-c", APPENDER, url, "120", f"proc:{n}"])
        for n in range(3)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    report = open_access(store).verify_audit()
    assert report.ok, report
    assert report.anchored == report.checkpoints > 3 * 5
    assert len(json.loads((tmp_path / "audit-trust.json").read_text())) == 1
    with store.engine.connect() as conn:
        kinds = conn.execute(text("SELECT kind FROM audit_events")).scalars().all()
    assert kinds.count("signing_key.created") == 1
    store.close()


class FullDisk:
    """A sink whose storage refuses writes (a full disk, a lost mount)."""

    def append(self, record: AnchorRecord) -> None:
        raise TetherError(ErrorCode.STORE_UNAVAILABLE, "no space left on the sink")

    def last_seq(self) -> int:
        return 0

    def records(self) -> Iterator[AnchorRecord]:
        return iter(())


def test_a_failed_anchor_write_rolls_the_checkpoint_back(sqlite_store: RunStore) -> None:
    access = open_access(sqlite_store, checkpoint_every=3)
    access.keys.active_kid()
    access.audit.sink = FullDisk()
    with pytest.raises(TetherError) as caught:
        fill(access, 2)  # event 3 is due a checkpoint: the sink refuses it at commit
    assert caught.value.code is ErrorCode.STORE_UNAVAILABLE
    assert access.audit.checkpoints() == []
    assert access.audit.head()[0] == 2  # the events of that transaction are not kept either
    assert access.verify_audit().ok


def test_a_quiet_chain_is_signed_on_the_timer_and_only_when_it_grew(store: RunStore) -> None:
    access = open_access(store)
    access.audit.checkpoint()  # makes the key; the chain is signed to its head
    assert access.audit.checkpoint_if_behind() is None  # nothing new: nothing to sign
    fill(access, 3)  # a few events, far from the next checkpoint by count
    head, _ = access.audit.head()
    point = access.audit.checkpoint_if_behind()
    assert point is not None and point.seq == head  # the unsigned tail is closed
    assert access.audit.checkpoint_if_behind() is None
    report = access.verify_audit()
    assert report.ok and report.anchored == report.checkpoints == len(access.audit.checkpoints())
