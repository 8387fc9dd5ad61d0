"""`tether signing-keys list` reports whether the key is encrypted at rest: what the key file
holds, not whether TETHER_SIGNING_KEY_PASSPHRASE is set now. A key file made before the
passphrase was set stays a plain PKCS#8 PEM (it is loaded as such), and is reported plain."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.processes import env_for
from tether.access.keys import SigningKeyRing
from tether.access.settings import AccessSettings
from tether.core.clock import ManualClock
from tether.store.db import create_store_engine, migrate


def _tether(url: str, home: Path, *args: str, passphrase: str | None = None) -> dict:  # type: ignore[type-arg]
    env = env_for(url, home)
    if passphrase is not None:
        env["TETHER_SIGNING_KEY_PASSPHRASE"] = passphrase
    done = subprocess.run(
        [sys.executable, "-c", "from tether.cli import main; main()", *args, "--json"],
        env=env,
        cwd=home.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    return json.loads(done.stdout)


def test_a_plain_key_file_is_never_reported_encrypted(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/store.db"
    home = tmp_path / "home"
    _tether(url, home, "audit", "checkpoint")  # makes the key, with no passphrase set
    key_file = tmp_path / "audit-signing.key"
    assert key_file.exists()
    assert b"ENCRYPTED" not in key_file.read_bytes()  # a plain PEM on disk

    listed = _tether(url, home, "signing-keys", "list", passphrase="a passphrase set later")
    active = [k for k in listed["keys"] if k["status"] == "active"]
    assert active, listed
    assert b"ENCRYPTED" not in key_file.read_bytes()
    assert active[0]["encrypted_at_rest"] is False, (
        f"the key file {key_file} is a plain PEM, yet the listing says {active[0]}"
    )


def _ring(tmp_path: Path, passphrase: bytes | None) -> SigningKeyRing:
    engine = create_store_engine(f"sqlite:///{tmp_path}/store.db")
    migrate(engine)
    settings = AccessSettings(
        audit_trust_file=str(tmp_path / "audit-trust.json"),
        audit_key_file=str(tmp_path / "audit-signing.key"),
        key_passphrase=passphrase,
    )
    return SigningKeyRing(engine, settings, ManualClock(start=1_900_000_000.0))


def test_a_key_file_made_with_a_passphrase_is_reported_encrypted(tmp_path: Path) -> None:
    ring = _ring(tmp_path, b"a passphrase")
    kid = ring.active_kid()
    assert [(k.kid, k.encrypted) for k in ring.list_keys()] == [(kid, True)]
    assert ring.rotate().encrypted  # the rotated key file is encrypted too


def test_a_key_made_without_a_passphrase_is_reported_plain(tmp_path: Path) -> None:
    ring = _ring(tmp_path, None)
    kid = ring.active_kid()
    assert [(k.kid, k.encrypted) for k in ring.list_keys()] == [(kid, False)]


def test_a_retired_key_is_not_on_disk_so_not_reported_encrypted(tmp_path: Path) -> None:
    ring = _ring(tmp_path, b"a passphrase")
    first = ring.active_kid()
    second = ring.rotate().kid
    listed = {k.kid: k.encrypted for k in ring.list_keys()}
    assert listed == {second: True, first: False}
