"""The README suggests a read-only mount for the trust file, and says the active key rotates
after TETHER_SIGNING_KEY_MAX_AGE and "the new key is pinned before it signs". A rotation pins
the new key before it replaces the key file: where the trust file cannot be written, the key
file keeps the pinned key, which goes on signing (a rotation that replaced the file first
would leave every process an unpinned key it cannot pin, and nothing could sign).

The trust file's folder is made unwritable here by a directory where its lock file goes (the
same OSError a read-only mount gives, for any user, root included)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest

from tether.access.audit import AuditLog
from tether.access.keys import SigningKeyRing
from tether.access.settings import AccessSettings
from tether.core.clock import ManualClock
from tether.store.db import create_store_engine, migrate


def test_a_rotation_that_cannot_pin_leaves_the_pinned_key_signing(tmp_path: Path) -> None:
    engine = create_store_engine(f"sqlite:///{tmp_path}/store.db")
    migrate(engine)
    (tmp_path / "trust").mkdir()
    (tmp_path / "keys").mkdir()
    trust_file = tmp_path / "trust" / "audit-trust.json"
    key_file = tmp_path / "keys" / "audit-signing.key"
    settings = AccessSettings(audit_trust_file=str(trust_file), audit_key_file=str(key_file))
    clock = ManualClock(start=1_900_000_000.0)

    def process() -> SigningKeyRing:
        return SigningKeyRing(engine, settings, clock, audit=AuditLog(engine, clock=clock))

    first = process().active_kid()  # made and pinned while the trust file could be written
    pinned_key = key_file.read_bytes()

    lock = trust_file.with_name(trust_file.name + ".lock")
    lock.unlink(missing_ok=True)
    lock.mkdir()  # from now on the trust file cannot be written
    clock.advance(settings.key_max_age_s + 60)  # the key is due to rotate

    with contextlib.suppress(OSError):  # the rotation may fail; what it leaves matters
        process().sign(b"payload")

    assert key_file.read_bytes() == pinned_key, (
        "the failed rotation overwrote the private key of the pinned key "
        f"{first} with a key the trust file does not hold"
    )
    kid, _ = process().sign(b"payload")  # a fresh process still signs with a pinned key
    assert kid == first


def _setup(tmp_path: Path) -> tuple[Any, AccessSettings, ManualClock, Path, Path]:
    engine = create_store_engine(f"sqlite:///{tmp_path}/store.db")
    migrate(engine)
    settings = AccessSettings(
        audit_trust_file=str(tmp_path / "audit-trust.json"),
        audit_key_file=str(tmp_path / "audit-signing.key"),
    )
    clock = ManualClock(start=1_900_000_000.0)
    return engine, settings, clock, Path(settings.audit_trust_file), Path(settings.audit_key_file)


def test_an_operator_rotation_that_cannot_pin_fails_and_changes_nothing(tmp_path: Path) -> None:
    engine, settings, clock, trust_file, key_file = _setup(tmp_path)
    ring = SigningKeyRing(engine, settings, clock)
    first = ring.active_kid()
    pinned_key, trusted = key_file.read_bytes(), trust_file.read_bytes()
    lock = trust_file.with_name(trust_file.name + ".lock")
    lock.unlink(missing_ok=True)
    lock.mkdir()
    with pytest.raises(OSError):
        ring.rotate("ops")
    assert key_file.read_bytes() == pinned_key and trust_file.read_bytes() == trusted
    assert ring.sign(b"x")[0] == first
    assert [p.name for p in key_file.parent.iterdir() if p.name.startswith(".")] == []


def test_a_due_rotation_that_failed_happens_once_the_trust_file_is_writable(
    tmp_path: Path,
) -> None:
    engine, settings, clock, trust_file, _ = _setup(tmp_path)
    ring = SigningKeyRing(engine, settings, clock)
    first = ring.active_kid()
    lock = trust_file.with_name(trust_file.name + ".lock")
    lock.unlink(missing_ok=True)
    lock.mkdir()
    clock.advance(settings.key_max_age_s + 60)
    assert ring.sign(b"x")[0] == first  # due, cannot pin: the pinned key goes on signing
    lock.rmdir()
    assert ring.sign(b"x")[0] == first  # not tried again on every signature
    clock.advance(ring.refresh_s + 1)
    kid, signature = ring.sign(b"x")
    assert kid != first  # rotated, and the new key is pinned and verifies
    key = ring.verification_key(kid)
    assert key is not None
    key.verify(signature, b"x")
    assert ring.verification_key(first) is not None  # the previous one, for a token TTL
