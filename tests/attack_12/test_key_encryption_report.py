"""`tether signing-keys list` reports whether the key is encrypted at rest. The answer is
taken from whether TETHER_SIGNING_KEY_PASSPHRASE is set now, not from the key file: a key file
made before the passphrase was set stays a plain PKCS#8 PEM (it is loaded as such without a
word), and the listing tells the operator it is encrypted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.processes import env_for


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
