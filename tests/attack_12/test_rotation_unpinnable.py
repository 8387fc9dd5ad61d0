"""The README suggests a read-only mount for the trust file, and says the active key rotates
after TETHER_SIGNING_KEY_MAX_AGE and "the new key is pinned before it signs". A due rotation
first replaces the key file with a new key and only then pins it: where the trust file cannot
be written, the pin fails after the pinned key's private half was already overwritten. From
then on every process loads an unpinned key it cannot pin, so nothing can sign (no run token,
no checkpoint) until an operator pins a key by hand; the old key is gone for good.

The trust file's folder is made unwritable here by a directory where its lock file goes (the
same OSError a read-only mount gives, for any user, root included)."""

from __future__ import annotations

import contextlib
from pathlib import Path

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
