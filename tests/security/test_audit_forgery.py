"""Forging the audit trail with full write access to the database, and failing.

Each test plays an attacker who can run any SQL on the system of record (but cannot write the
data directory's key, trust file or checkpoint sink): rewrite history, re-hash the chain,
re-sign the checkpoints with any key the database holds or with one of their own, delete
checkpoints. `tether audit verify` must say no, and name the first event that changed.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import time
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import inspect, select, text

from tests.access.conftest import open_access, store
from tests.access.test_audit import fill, row, tamper_on
from tether.access.anchors import FileCheckpointSink
from tether.access.audit import AuditLog, checkpoint_payload, event_digest
from tether.access.audit_verify import verify_chain
from tether.access.canonical import b64url
from tether.access.control import AccessControl
from tether.access.keys import SigningKeyRing
from tether.access.keysource import KeySource, key_id_for, load_private_key
from tether.access.settings import AccessSettings
from tether.access.trust import TrustFile
from tether.store.access_schema import signing_keys
from tether.store.runs import RunStore

__all__ = ["store"]


def chain_with_checkpoints(store: RunStore, audit_dir: Path, **settings: object) -> AccessControl:
    """Events 1..15 (1 is the key's creation), checkpoints signed at 5, 10 and 15."""
    access = open_access(store, checkpoint_every=5, audit_dir=str(audit_dir), **settings)
    access.keys.active_kid()
    fill(access, 14)
    assert [p.seq for p in access.audit.checkpoints()] == [5, 10, 15]
    return access


def attacker_key(store: RunStore) -> tuple[str, Ed25519PrivateKey]:
    """Whatever private key the database holds; else the attacker's own, with its row."""
    with store.engine.connect() as conn:
        rows = conn.execute(select(signing_keys)).mappings().all()
    for found in rows:
        if found["private_key"] and not found["encrypted"]:
            key = load_private_key(found["private_key"].encode(), None, "the database")
            return str(found["kid"]), key
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    kid = key_id_for(public)
    tamper_on(store)(
        "INSERT INTO signing_keys (kid, algorithm, public_key, private_key, encrypted, "
        "created_at, retired_at) VALUES (:k, 'Ed25519', :p, :s, :e, :c, NULL)",
        {"k": kid, "p": b64url(public), "s": pem, "e": False, "c": time.time()},
    )
    return kid, key


def rewrite_from(store: RunStore, first: int, last: int) -> dict[int, str]:
    """Change event `first`'s data, re-hash every event up to `last` and the head; returns the
    new hash of each event."""
    tamper = tamper_on(store)
    prev = row(store, first - 1)["hash"]
    hashes: dict[int, str] = {}
    for seq in range(first, last + 1):
        r = row(store, seq)
        data = '{"rewritten":true}' if seq == first else r["data"]
        digest = event_digest(seq, prev, r["ts"], r["kind"], r["actor"], r["run_id"], data)
        tamper(
            "UPDATE audit_events SET data = :d, prev_hash = :p, hash = :h WHERE seq = :s",
            {"d": data, "p": prev, "h": digest, "s": seq},
        )
        hashes[seq] = prev = digest
    tamper("UPDATE audit_head SET hash = :h", {"h": prev})
    return hashes


def resign(store: RunStore, hashes: dict[int, str], kid: str, key: Ed25519PrivateKey) -> None:
    """Point every checkpoint at a rewritten event to its new hash, signed with `key`."""
    with store.engine.connect() as conn:
        points = conn.execute(text("SELECT id, seq, ts FROM audit_checkpoints")).all()
    for point_id, seq, ts in points:
        if seq in hashes:
            signature = b64url(key.sign(checkpoint_payload(seq, hashes[seq], ts)))
            tamper_on(store)(
                "UPDATE audit_checkpoints SET hash = :h, kid = :k, signature = :g WHERE id = :i",
                {"h": hashes[seq], "k": kid, "g": signature, "i": point_id},
            )


def test_a_rewritten_event_resigned_with_the_databases_key_is_named(
    store: RunStore, tmp_path: Path
) -> None:
    access = chain_with_checkpoints(store, tmp_path)
    kid, key = attacker_key(store)
    resign(store, rewrite_from(store, 7, 15), kid, key)
    report = access.verify_audit()
    assert (report.ok, report.first_bad_seq) == (False, 7), report
    assert report.bad_range is None  # named exactly, not just between two checkpoints
    # the same verdict from a fresh process's view of the same data directory
    again = open_access(store, audit_dir=str(tmp_path)).verify_audit()
    assert (again.ok, again.first_bad_seq) == (False, 7)


def test_an_inserted_key_row_is_not_trusted(store: RunStore, tmp_path: Path) -> None:
    access = chain_with_checkpoints(store, tmp_path, key_passphrase=b"a long passphrase")
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    kid = key_id_for(public)
    tamper_on(store)(
        "INSERT INTO signing_keys (kid, algorithm, public_key, private_key, encrypted, "
        "created_at, retired_at) VALUES (:k, 'Ed25519', :p, '', :e, :c, NULL)",
        {"k": kid, "p": b64url(public), "e": False, "c": time.time()},
    )
    resign(store, rewrite_from(store, 7, 15), kid, key)
    report = access.verify_audit()
    assert report.ok is False and report.first_bad_seq == 7
    assert report.untrusted_keys == [kid]
    assert kid in report.to_dict()["untrusted_keys"]


def test_deleted_checkpoints_are_missing(store: RunStore, tmp_path: Path) -> None:
    access = chain_with_checkpoints(store, tmp_path)
    tamper = tamper_on(store)
    tamper("DELETE FROM audit_checkpoints WHERE seq = 10", {})
    report = access.verify_audit()
    assert report.ok is False and report.checkpoints_missing == 1
    assert report.first_bad_seq is None  # no event changed: only a checkpoint went
    assert report.anchored == 2
    # every checkpoint gone and the chain rewritten and re-hashed from event 7
    tamper("DELETE FROM audit_checkpoints", {})
    rewrite_from(store, 7, 15)
    report = access.verify_audit()
    assert report.ok is False and report.checkpoints_missing == 3
    assert report.first_bad_seq == 7 and report.anchored == 0


def test_reordered_checkpoint_rows_are_reported(store: RunStore, tmp_path: Path) -> None:
    access = chain_with_checkpoints(store, tmp_path)
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM audit_checkpoints ORDER BY id")).mappings().all()
    tamper = tamper_on(store)
    first, second = dict(rows[0]), dict(rows[1])
    for target, source in ((first["id"], second), (second["id"], first)):
        tamper(
            "UPDATE audit_checkpoints SET seq = :seq, hash = :hash, ts = :ts, kid = :kid, "
            "signature = :signature WHERE id = :target",
            {**{k: source[k] for k in ("seq", "hash", "ts", "kid", "signature")}, "target": target},
        )
    report = access.verify_audit()
    assert report.ok is False and report.checkpoints_out_of_order == 1
    assert report.first_bad_seq is None


def test_rotation_keeps_old_checkpoints_verifying(store: RunStore, tmp_path: Path) -> None:
    access = chain_with_checkpoints(store, tmp_path)
    old = access.keys.active_kid()
    info = access.keys.rotate(actor="tests")
    assert info.kid != old
    fill(access, 6)  # events up to 22: a checkpoint at 20 with the new key
    access.audit.checkpoint()
    kids = {p.kid for p in access.audit.checkpoints()}
    assert kids == {old, info.kid}
    report = open_access(store, audit_dir=str(tmp_path)).verify_audit()
    assert report.ok, report
    assert report.checkpoints == report.anchored == 5
    trusted = json.loads((tmp_path / "audit-trust.json").read_text())
    assert {k["key_id"] for k in trusted} == {old, info.kid}
    assert set(trusted[0]) >= {"key_id", "public_key", "added_at", "note"}


def test_a_checkpoint_by_an_unpinned_key_fails(store: RunStore, tmp_path: Path) -> None:
    access = chain_with_checkpoints(store, tmp_path / "ours")
    # a genuine tether key, made and pinned in another data directory: not pinned in ours
    other = open_access(store, audit_dir=str(tmp_path / "theirs"))
    other.audit.checkpoint()
    stranger = other.keys.active_kid()
    report = access.verify_audit()
    assert report.ok is False and report.untrusted_keys == [stranger]
    assert report.checkpoints_unanchored == 1
    assert report.first_bad_seq == 16  # the head it signed: that key's creation


class RemoteSigner:
    """A KMS-like key: the private half lives in an object this process never reads."""

    def __init__(self) -> None:
        vault = Ed25519PrivateKey.generate()
        self._sign = vault.sign
        self._public = vault.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.calls = 0

    @property
    def key_id(self) -> str:
        return key_id_for(self._public)

    def public_key(self) -> bytes:
        return self._public

    def sign(self, payload: bytes) -> bytes:
        self.calls += 1
        return self._sign(payload)


class RemoteProvider:
    rotates = False

    def __init__(self) -> None:
        self.key = RemoteSigner()

    def current(self) -> KeySource:
        return self.key

    def replace(self, pin: Callable[[KeySource], object]) -> KeySource:
        raise AssertionError("rotation happens in the KMS")

    def describe(self) -> str:
        return "a remote signer"


def test_a_kms_style_signer_signs_checkpoints(store: RunStore, tmp_path: Path) -> None:
    trust = TrustFile(tmp_path / "trust.json")
    provider = RemoteProvider()
    # the deployment pins the KMS key's public half itself
    trust.pin(provider.key.key_id, provider.key.public_key(), time.time(), "kms key")
    sink = FileCheckpointSink(tmp_path / "sink.jsonl")
    audit = AuditLog(store.engine, checkpoint_every=4, sink=sink)
    ring = SigningKeyRing(
        store.engine, AccessSettings(audit_dir=str(tmp_path)), audit=audit,
        provider=provider, trust=trust,
    )  # fmt: skip
    audit.signer = ring
    access = open_access(store, audit_dir=str(tmp_path))
    access.audit, access.keys = audit, ring
    ring.active_kid()
    fill(access, 9)
    assert provider.key.calls == 2 and [p.seq for p in audit.checkpoints()] == [4, 8]
    report = verify_chain(store.engine, ring, sink)
    assert report.ok and report.anchored == 2
    assert not (tmp_path / "audit-signing.key").exists()  # no key file: the KMS holds it
    rewrite_from(store, 3, 9)
    assert verify_chain(store.engine, ring, sink).first_bad_seq == 3


def test_the_private_key_is_nowhere_in_the_database(store: RunStore, tmp_path: Path) -> None:
    access = chain_with_checkpoints(store, tmp_path)
    access.keys.rotate(actor="tests")
    fill(access, 3)
    key_file = tmp_path / "audit-signing.key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    pem = key_file.read_bytes()
    key = load_private_key(pem, None, "the key file")
    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    needles = {
        raw.hex(),
        b64url(raw),
        base64.b64encode(raw).decode().rstrip("="),
        base64.b64encode(der).decode()[:40],
        pem.decode().splitlines()[1][:40],
    }
    found: list[str] = []
    with store.engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            for values in conn.execute(text(f'SELECT * FROM "{table}"')).all():
                cell = " ".join(str(v) for v in values)
                assert "PRIVATE KEY" not in cell, table
                found += [table for needle in needles if needle in cell]
    assert found == []
