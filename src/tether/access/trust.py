"""The verification keys the audit trusts, pinned in a file outside the system of record.

The trust file is a JSON list of `{"key_id", "public_key", "added_at", "note"}` (plus
`"retired_at"` once a key stops signing). A checkpoint or token signed by a key that is not
pinned here does not verify, whatever the database says. Keys are pinned when tether makes
them (first use, rotation) or by an operator for keys tether never sees (a KMS key); a key
is never removed by tether, so rotation never breaks older checkpoints.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tether.access.canonical import b64url, b64url_decode
from tether.core.errors import ErrorCode, TetherError


@dataclass(frozen=True)
class TrustedKey:
    """One pinned verification key."""

    key_id: str
    public_key: str  # raw Ed25519 public key, base64url
    added_at: float
    note: str = ""
    retired_at: float | None = None

    def verifier(self) -> Ed25519PublicKey | None:
        """The key, ready to verify; None when the pinned bytes are not a key."""
        return _verifier(self.public_key)

    def to_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "key_id": self.key_id,
            "public_key": self.public_key,
            "added_at": self.added_at,
            "note": self.note,
        }
        if self.retired_at is not None:
            found["retired_at"] = self.retired_at
        return found


@lru_cache(maxsize=256)
def _verifier(public_key: str) -> Ed25519PublicKey | None:
    try:
        return Ed25519PublicKey.from_public_bytes(b64url_decode(public_key))
    except ValueError:
        return None


class TrustFile:
    """Reads and extends the trust file; writes are atomic and serialised across processes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._cached: tuple[tuple[int, int, int], dict[str, TrustedKey]] | None = None

    def keys(self) -> dict[str, TrustedKey]:
        """Every pinned key by id; empty when there is no trust file yet."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return {}
        mark = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if self._cached is not None and self._cached[0] == mark:
            return self._cached[1]
        found = self._read()
        self._cached = (mark, found)
        return found

    def get(self, key_id: str) -> TrustedKey | None:
        """The pinned key with this id, if any."""
        return self.keys().get(key_id)

    def pin(self, key_id: str, public_key: bytes, added_at: float, note: str) -> bool:
        """Pin a key; False when it was pinned already. CONFIG_INVALID when the id is pinned
        with another public key."""
        encoded = b64url(public_key)
        with self._locked():
            found = self._read()
            known = found.get(key_id)
            if known is not None:
                if known.public_key != encoded:
                    raise TetherError(
                        ErrorCode.CONFIG_INVALID,
                        f"{self.path} pins {key_id} with another public key",
                    )
                return False
            found[key_id] = TrustedKey(key_id, encoded, added_at, note)
            self._write(found)
            return True

    def retire(self, key_id: str, at: float) -> None:
        """Record that `key_id` stopped signing at `at` (it still verifies history)."""
        with self._locked():
            found = self._read()
            known = found.get(key_id)
            if known is None or known.retired_at is not None:
                return
            found[key_id] = TrustedKey(
                known.key_id, known.public_key, known.added_at, known.note, at
            )
            self._write(found)

    # -- internals ----------------------------------------------------------------------

    def _read(self) -> dict[str, TrustedKey]:
        try:
            raw = json.loads(self.path.read_text("utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise TetherError(
                ErrorCode.CONFIG_INVALID, f"the trust file {self.path} cannot be read: {exc}"
            ) from None
        if not isinstance(raw, list):
            raise TetherError(ErrorCode.CONFIG_INVALID, f"{self.path} must hold a JSON list")
        found: dict[str, TrustedKey] = {}
        for item in raw:
            try:
                retired = item.get("retired_at")
                key = TrustedKey(
                    key_id=str(item["key_id"]),
                    public_key=str(item["public_key"]),
                    added_at=float(item.get("added_at", 0.0)),
                    note=str(item.get("note", "")),
                    retired_at=None if retired is None else float(retired),
                )
            except (KeyError, TypeError, ValueError, AttributeError):
                raise TetherError(
                    ErrorCode.CONFIG_INVALID,
                    f"{self.path} has an entry without key_id and public_key",
                ) from None
            found[key.key_id] = key
        return found

    def _write(self, keys: dict[str, TrustedKey]) -> None:
        text = json.dumps([k.to_dict() for k in keys.values()], indent=2) + "\n"
        temp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        with open(temp, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, self.path)
        self._cached = None

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # a lock file beside the trust file: the trust file itself is replaced on every write
        with open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
