"""Upgrading a database whose signing keys lived in it (before migration 0008)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from alembic import command
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, insert, text

from tests.access.conftest import open_access
from tests.access.test_audit import fill
from tether.access.audit import AuditEvent, AuditLog
from tether.access.canonical import b64url
from tether.store.access_schema import signing_keys
from tether.store.db import _alembic_config, create_store_engine
from tether.store.runs import RunStore


class LegacySigner:
    """Signs as tether did before 0008: with a private key read from the database."""

    def __init__(self, kid: str, key: Ed25519PrivateKey) -> None:
        self.kid, self.key = kid, key

    def ready(self) -> bool:
        return True

    def active_kid(self, conn: Connection | None = None) -> str:
        return self.kid

    def sign(self, payload: bytes, conn: Connection | None = None) -> tuple[str, bytes]:
        return self.kid, self.key.sign(payload)


def test_an_old_database_upgrades_and_still_verifies(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = store_url
    monkeypatch.setenv("TETHER_AUDIT_DIR", str(tmp_path))  # what the migration reads
    engine = create_store_engine(url)
    cfg = _alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0003")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    with engine.begin() as conn:
        conn.execute(
            insert(signing_keys).values(
                kid="key_0123456789abcdef",
                algorithm="Ed25519",
                public_key=b64url(public),
                private_key=pem,
                encrypted=False,
                created_at=time.time() - 60,
                retired_at=None,
            )
        )
    legacy = AuditLog(engine, checkpoint_every=4, signer=LegacySigner("key_0123456789abcdef", key))
    for i in range(9):
        legacy.append([AuditEvent("legacy.event", "tests", {"i": i})])
    assert [p.seq for p in legacy.checkpoints()] == [4, 8]
    engine.dispose()

    store = RunStore.open(url)  # migrates to the newest revisions, 0008 among them
    with store.engine.connect() as conn:
        stored = conn.execute(text("SELECT private_key, retired_at FROM signing_keys")).all()
    assert stored and all(p is None and r is not None for p, r in stored)
    trusted = json.loads((tmp_path / "audit-trust.json").read_text())
    assert [k["key_id"] for k in trusted] == ["key_0123456789abcdef"]
    sink = (tmp_path / "audit-checkpoints.jsonl").read_text().splitlines()
    assert [json.loads(line)["seq"] for line in sink] == [4, 8]

    access = open_access(store, audit_dir=str(tmp_path))
    report = access.verify_audit()
    assert report.ok and report.anchored == 2, report
    fill(access, 3)  # a new key, in the key file, signs from now on
    point = access.audit.checkpoint()
    assert point.kid != "key_0123456789abcdef"
    report = access.verify_audit()
    assert report.ok and report.anchored == 3 and report.events == 9 + 1 + 3
    store.close()
