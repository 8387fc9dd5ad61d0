"""A process killed (SIGKILL) while it anchors a checkpoint leaves an honest chain that
verifies, on both stores, and a database truncated after that crash still fails verification.

Each checkpoint reaches the sink as `prepared` (fsynced before the database commits) and as
`committed` (after it committed). A prepared record the database never committed is what a
crash between the two leaves; it is relied on for nothing, yet every checkpoint confirmed
committed binds the database for good, so a truncation that removes one is caught. The one
window a crash opens: a process killed after its database committed and before the committed
record, whose checkpoint a database writer removes before the next checkpoint (README).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.access.conftest import open_access
from tests.access.test_audit import fill
from tests.cli.test_cli import tether
from tests.security.test_audit_forgery import rewrite_from
from tether.access.anchors import COMMITTED, AnchorRecord, FileCheckpointSink
from tether.core.errors import ErrorCode, TetherError
from tether.store.runs import RunStore

# Appends 3 events, makes the signing key (event 4), then appends 4 more: the 5th event calls
# for a checkpoint (of the head, 8) inside that append's transaction. The process stops (and
# says so in a file) where argv[3] says: "before-commit" once the prepared record is written
# for real, before the database commits; "after-commit" once the database committed, before
# the committed record.
DYING = """
import sys, time
from pathlib import Path
from sqlalchemy import create_engine
from tether.access.audit import AuditEvent
from tether.access.control import AccessControl
from tether.access.settings import AccessSettings
engine = create_engine(sys.argv[1])
access = AccessControl.open(engine, settings=AccessSettings(checkpoint_every=5))
access.audit.append([AuditEvent("honest.event", "proc:dying", {"i": i}) for i in range(3)])
access.keys.active_kid()
sink = access.audit.sink
real = sink.append
def stop(record):
    Path(sys.argv[2]).write_text(str(record.seq))
    time.sleep(60)
def append_then_stop(record):
    if record.stage == "committed" and sys.argv[3] == "after-commit":
        stop(record)
    real(record)
    if record.stage == "prepared" and sys.argv[3] == "before-commit":
        stop(record)
sink.append = append_then_stop
access.audit.append([AuditEvent("honest.event", "proc:dying", {"i": i}) for i in range(3, 7)])
"""

# Another process carries on honestly: events 5.. again (after a crash before the commit) or
# 9.. (after one past it), checkpoints every 5, and one at the head.
HONEST = """
import sys
from sqlalchemy import create_engine
from tether.access.audit import AuditEvent
from tether.access.control import AccessControl
from tether.access.settings import AccessSettings
engine = create_engine(sys.argv[1])
access = AccessControl.open(engine, settings=AccessSettings(checkpoint_every=5))
for i in range(12):
    access.audit.append([AuditEvent("honest.event", "proc:next", {"i": i})])
access.audit.checkpoint()
"""


def _home(tmp_path: Path) -> Path:
    return Path(os.environ.get("TETHER_HOME", str(tmp_path)))


def _verify(url: str, home: Path) -> tuple[int, dict[str, object]]:
    proc = tether("audit", "verify", "--json", home=home, env={"TETHER_DATABASE_URL": url})
    report: dict[str, object] = json.loads(proc.stdout)
    return proc.returncode, report


def _killed_while_anchoring(url: str, tmp_path: Path, stage: str) -> None:
    """Run DYING until it stops at `stage`, and kill it there."""
    RunStore.open(url).close()  # migrated
    marker = tmp_path / "anchored"
    env = {**os.environ, "TETHER_HOME": str(_home(tmp_path))}
    child = subprocess.Popen([sys.executable, "-c", DYING, url, str(marker), stage], env=env)
    try:
        deadline = time.monotonic() + 20
        while not marker.exists():
            assert child.poll() is None, "the child ended before it anchored a checkpoint"
            assert time.monotonic() < deadline, "the child never anchored a checkpoint"
            time.sleep(0.02)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)


def _carry_on(url: str, tmp_path: Path) -> None:
    env = {**os.environ, "TETHER_HOME": str(_home(tmp_path))}
    honest = subprocess.run([sys.executable, "-c", HONEST, url], env=env, timeout=60, check=False)
    assert honest.returncode == 0


def _truncate(url: str, keep: int) -> None:
    """What a database writer does to hide every event after `keep`: delete them and the
    checkpoints past them, and set the head back, leaving a chain consistent in itself (the
    very state a crash before the commit of the events after `keep` leaves)."""
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE seq > :k"), {"k": keep})
        conn.execute(text("DELETE FROM audit_checkpoints WHERE seq > :k"), {"k": keep})
        last = conn.execute(
            text("SELECT hash FROM audit_events WHERE seq = :k"), {"k": keep}
        ).scalar_one()
        conn.execute(text("UPDATE audit_head SET seq = :k, hash = :h"), {"k": keep, "h": last})
    engine.dispose()


def test_a_process_killed_while_anchoring_a_checkpoint_leaves_an_honest_chain_that_verifies(
    store_url: str, tmp_path: Path
) -> None:
    _killed_while_anchoring(store_url, tmp_path, "before-commit")
    _carry_on(store_url, tmp_path)
    code, report = _verify(store_url, _home(tmp_path))
    # only honest processes wrote this chain: it must verify
    assert (code, report["ok"], report["first_bad_seq"]) == (0, True, None), json.dumps(report)
    assert report["checkpoints_unconfirmed"] == 1 and report["checkpoints_missing"] == 0, report
    assert report["anchored"] == report["checkpoints"] >= 1, report


def test_a_truncation_after_an_honest_crash_and_recovery_still_fails(
    store_url: str, tmp_path: Path
) -> None:
    _killed_while_anchoring(store_url, tmp_path, "before-commit")
    _carry_on(store_url, tmp_path)
    # back to just before the last checkpoint, and back to the very state the crash left
    for keep in (15, 4):
        _truncate(store_url, keep)
        code, report = _verify(store_url, _home(tmp_path))
        assert (code, report["ok"]) == (1, False), json.dumps(report)
        assert report["first_bad_seq"] == keep + 1 and report["checkpoints_missing"], report


def test_after_a_crash_the_next_checkpoint_anchors_every_event_since_the_last_commit(
    store_url: str, tmp_path: Path
) -> None:
    _killed_while_anchoring(store_url, tmp_path, "before-commit")
    _carry_on(store_url, tmp_path)
    store = RunStore.open(store_url)
    try:
        rewrite_from(store, 6, 16)  # an event the dead process's record also numbered
    finally:
        store.close()
    code, report = _verify(store_url, _home(tmp_path))
    # named exactly, by the new record's digests, not only as a span between checkpoints
    assert (code, report["first_bad_seq"], report["bad_range"]) == (1, 6, None), report


def test_a_process_killed_after_its_commit_leaves_a_chain_that_verifies(
    store_url: str, tmp_path: Path
) -> None:
    _killed_while_anchoring(store_url, tmp_path, "after-commit")
    code, report = _verify(store_url, _home(tmp_path))
    # the prepared record binds: the database holds its checkpoint
    assert (code, report["ok"], report["anchored"]) == (0, True, 1), json.dumps(report)
    _carry_on(store_url, tmp_path)
    code, report = _verify(store_url, _home(tmp_path))
    assert (code, report["ok"], report["checkpoints_unconfirmed"]) == (0, True, 0), report
    # the next checkpoint confirmed what the database holds: truncating it away is caught
    _truncate(store_url, 4)
    code, report = _verify(store_url, _home(tmp_path))
    assert (code, report["ok"], report["first_bad_seq"]) == (1, False, 5), json.dumps(report)


def test_the_window_a_crash_after_the_commit_leaves_is_the_one_the_readme_states(
    sqlite_url: str, tmp_path: Path
) -> None:
    """Killed after its commit and before its committed record, a checkpoint that only the
    database holds can be removed with its events before the next checkpoint: that looks
    exactly like a crash before the commit. The test above shows the next checkpoint closes
    it; this one pins the window, so that closing it means changing the README too."""
    _killed_while_anchoring(sqlite_url, tmp_path, "after-commit")
    _truncate(sqlite_url, 4)
    code, report = _verify(sqlite_url, _home(tmp_path))
    assert (code, report["checkpoints_unconfirmed"]) == (0, 1), json.dumps(report)


class _NoRoomAfterCommit(FileCheckpointSink):
    """A sink that takes the prepared record and then refuses (its disk filled up between)."""

    def append(self, record: AnchorRecord) -> None:
        if record.stage == COMMITTED:
            raise TetherError(ErrorCode.STORE_UNAVAILABLE, "no space left on the sink")
        super().append(record)


def test_a_committed_record_that_cannot_be_written_fails_nothing_that_committed(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TETHER_HOME", str(tmp_path))
    store = RunStore.open(store_url)
    try:
        access = open_access(store, checkpoint_every=4)
        access.keys.active_kid()
        sink = access.audit.sink
        assert isinstance(sink, FileCheckpointSink)
        access.audit.sink = _NoRoomAfterCommit(sink.path)
        fill(access, 7)  # checkpoints at 4 and 8: no append reports a failure it did not have
        assert access.audit.head()[0] == 8
        report = access.verify_audit()
    finally:
        store.close()
    assert report.ok and report.anchored == report.checkpoints == 2, report
