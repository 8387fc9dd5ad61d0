"""Acceptance through the command line: after `tether demo --no-serve` the audit chain verifies;
one changed byte or one deleted event in the real database makes it fail, naming the event."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import create_engine, text

from tests.cli.test_cli import tether
from tether.access.canonical import b64url
from tether.access.keysource import key_id_for


def verify(home: Path, env: dict[str, str] | None = None) -> tuple[int, dict[str, object]]:
    proc = tether("audit", "verify", "--json", home=home, env=env)
    assert "Traceback" not in proc.stderr + proc.stdout
    report: dict[str, object] = json.loads(proc.stdout)
    assert set(report) >= {"events", "ok", "first_bad_seq", "checkpoints"}
    assert set(report) >= {"anchored", "checkpoints_missing", "untrusted_keys"}
    return proc.returncode, report


def flip(value: str) -> str:
    i = len(value) // 2
    while not value[i].isalnum():
        i += 1
    return value[:i] + ("0" if value[i] != "0" else "1") + value[i + 1 :]


def test_demo_then_verify_then_tamper_on_sqlite(tmp_path: Path) -> None:
    demo = tether("demo", "--no-serve", "--json", home=tmp_path)
    assert demo.returncode == 0, demo.stderr
    assert "tk_" in demo.stderr  # the first start prints the admin key, once
    again = tether("demo", "--no-serve", "--json", home=tmp_path)
    assert "tk_" not in again.stderr
    code, report = verify(tmp_path)
    assert code == 0 and report["ok"] is True and report["first_bad_seq"] is None
    events = report["events"]
    assert isinstance(events, int) and events > 30 and report["checkpoints"] == 2

    db = sqlite3.connect(str(tmp_path / "tether.db"))
    rows = db.execute("SELECT seq, data FROM audit_events ORDER BY seq").fetchall()
    assert len(rows) == events
    for seq, data in rows:  # every event: one changed byte is caught and named
        with db:
            db.execute("UPDATE audit_events SET data = ? WHERE seq = ?", (flip(data), seq))
        if seq in (1, events // 2, events):
            code, report = verify(tmp_path)
            assert (code, report["ok"], report["first_bad_seq"]) == (1, False, seq)
        with db:
            db.execute("UPDATE audit_events SET data = ? WHERE seq = ?", (data, seq))
    assert verify(tmp_path)[1]["ok"] is True
    with db:
        db.execute("DELETE FROM audit_events WHERE seq = ?", (events // 3,))
    code, report = verify(tmp_path)
    assert (code, report["ok"], report["first_bad_seq"]) == (1, False, events // 3)
    db.close()


def test_demo_then_verify_then_tamper_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    env = {"TETHER_DATABASE_URL": pg_url}
    demo = tether("demo", "--no-serve", "--json", home=tmp_path, env=env)
    assert demo.returncode == 0, demo.stderr
    code, report = verify(tmp_path, env)
    assert code == 0 and report["ok"] is True
    events = report["events"]
    assert isinstance(events, int)
    engine = create_engine(pg_url.replace("postgresql+psycopg://", "postgresql+psycopg://"))
    middle = events // 2
    with engine.begin() as conn:
        data = conn.execute(
            text("SELECT data FROM audit_events WHERE seq = :s"), {"s": middle}
        ).scalar_one()
        conn.execute(
            text("UPDATE audit_events SET data = :d WHERE seq = :s"), {"d": flip(data), "s": middle}
        )
    code, report = verify(tmp_path, env)
    assert (code, report["ok"], report["first_bad_seq"]) == (1, False, middle)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE audit_events SET data = :d WHERE seq = :s"), {"d": data, "s": middle}
        )
        conn.execute(text("DELETE FROM audit_events WHERE seq = :s"), {"s": events})
    code, report = verify(tmp_path, env)
    assert (code, report["ok"], report["first_bad_seq"]) == (1, False, events)
    engine.dispose()


def test_keys_and_signing_keys_on_the_command_line(tmp_path: Path) -> None:
    made = tether("keys", "create", "--role", "approver", "--name", "ops", "--json", home=tmp_path)
    assert made.returncode == 0, made.stderr
    created = json.loads(made.stdout)
    assert created["key"].startswith("tk_") and created["role"] == "approver"
    listed = json.loads(tether("keys", "list", "--json", home=tmp_path).stdout)["keys"]
    assert [k["id"] for k in listed] == [created["id"]]
    assert created["key"] not in json.dumps(listed)
    assert tether("keys", "revoke", created["id"], home=tmp_path).returncode == 0
    missing = tether("keys", "revoke", "0000000000000000", home=tmp_path)
    assert missing.returncode == 2 and "API_KEY_NOT_FOUND" in missing.stderr
    bad = tether("keys", "create", "--role", "root", home=tmp_path)
    assert bad.returncode == 2 and "BAD_REQUEST" in bad.stderr
    rotated = json.loads(tether("signing-keys", "rotate", "--json", home=tmp_path).stdout)
    keys = json.loads(tether("signing-keys", "list", "--json", home=tmp_path).stdout)["keys"]
    assert keys[0]["kid"] == rotated["kid"] and keys[0]["status"] == "active"
    assert "PRIVATE" not in json.dumps(keys)
    checkpoint = json.loads(tether("audit", "checkpoint", "--json", home=tmp_path).stdout)
    kinds = [
        e["kind"]
        for e in json.loads(tether("audit", "events", "--json", home=tmp_path).stdout)["events"]
    ]
    assert kinds[:3] == ["api_key.created", "api_key.revoked", "signing_key.created"]
    assert checkpoint["seq"] == len(kinds)
    code, report = verify(tmp_path)
    assert code == 0
    assert report == {
        **report,
        **{"events": len(kinds), "ok": True, "first_bad_seq": None, "checkpoints": 1},
        **{"anchored": 1, "checkpoints_missing": 0, "untrusted_keys": []},
    }


@pytest.mark.parametrize(
    ("name", "value"),
    [("TETHER_TOKEN_TTL", "0"), ("TETHER_TOKEN_TTL", "soon"), ("TETHER_REDACT", "everything")],
)
def test_bad_access_settings_are_config_errors(tmp_path: Path, name: str, value: str) -> None:
    command = ("keys", "list") if name != "TETHER_REDACT" else ("serve", "--port", "1")
    proc = tether(*command, home=tmp_path, env={name: value})
    assert proc.returncode == 2 and "CONFIG_INVALID" in proc.stderr, proc.stderr


def test_an_operator_pins_a_kms_key_and_it_verifies(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    public = b64url(key.public_key().public_bytes_raw())
    # a base64url key may begin with "-", so it goes after "--" as the help says
    pinned = tether(
        "signing-keys", "pin", "--note", "kms/prod", "--json", "--", public, home=tmp_path
    )
    assert pinned.returncode == 0, pinned.stderr
    result = json.loads(pinned.stdout)
    assert result["pinned"] is True and result["kid"] == key_id_for(
        key.public_key().public_bytes_raw()
    )
    trusted = json.loads((tmp_path / "audit-trust.json").read_text())
    assert [(k["key_id"], k["note"]) for k in trusted] == [(result["kid"], "kms/prod")]
    bad = tether("signing-keys", "pin", "not-a-key", home=tmp_path)
    assert bad.returncode == 2 and "BAD_REQUEST" in bad.stderr
    dashed = next(
        raw
        for raw in (
            Ed25519PrivateKey.generate().public_key().public_bytes_raw() for _ in iter(int, 1)
        )
        if b64url(raw).startswith("-")
    )
    pinned_dashed = tether("signing-keys", "pin", "--json", "--", b64url(dashed), home=tmp_path)
    assert json.loads(pinned_dashed.stdout)["kid"] == key_id_for(dashed), pinned_dashed.stderr
    # the kms key signs through TETHER_AUDIT_SIGNING_KEY here (a stand-in for the KMS)
    env = {"TETHER_AUDIT_SIGNING_KEY": b64url(key.private_bytes_raw())}
    assert tether("audit", "checkpoint", home=tmp_path, env=env).returncode == 0
    code, report = verify(tmp_path)
    assert code == 0 and report["ok"] is True and report["anchored"] == 1
