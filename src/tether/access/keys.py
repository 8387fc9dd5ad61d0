"""Ed25519 signing keys, kept in the system of record and rotated.

Private keys are generated here, stored only in the `signing_keys` table (encrypted at rest
when `TETHER_SIGNING_KEY_PASSPHRASE` is set) and never printed, logged or exported: what leaves
the store is the public half. The newest unretired key signs; it is retired when it grows
older than `key_max_age_s` or on `rotate()`, and a retired key still verifies tokens for one
token TTL (so tokens in flight stay valid) and checkpoints forever (history stays checkable).
"""

from __future__ import annotations

import math
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Connection, Engine, insert, select, update

from tether.access.audit import AuditEvent, AuditLog
from tether.access.canonical import b64url, b64url_decode
from tether.access.settings import AccessSettings
from tether.access.storage import begin, connect
from tether.core.clock import Clock, SystemClock
from tether.core.errors import ErrorCode, TetherError
from tether.store.access_schema import signing_keys

ALGORITHM = "Ed25519"
SYSTEM_ACTOR = "system"


@dataclass(frozen=True)
class SigningKeyInfo:
    """The public facts of one signing key (never its private half)."""

    kid: str
    created_at: float
    retired_at: float | None
    encrypted: bool
    public_key: str  # raw Ed25519 public key, base64url

    def status(self, now: float, grace_s: float) -> str:
        """active (signs), previous (verifies tokens for one TTL more) or retired."""
        if self.retired_at is None:
            return "active"
        return "previous" if now <= self.retired_at + grace_s else "retired"

    def to_dict(self, now: float, grace_s: float) -> dict[str, Any]:
        return {
            "kid": self.kid,
            "algorithm": ALGORITHM,
            "status": self.status(now, grace_s),
            "created_at": self.created_at,
            "retired_at": self.retired_at,
            "encrypted_at_rest": self.encrypted,
            "public_key": self.public_key,
        }


@dataclass(frozen=True)
class _Active:
    kid: str
    created_at: float
    key: Ed25519PrivateKey


class SigningKeyRing:
    """Signs with the active key; finds public keys by id for verification."""

    def __init__(
        self,
        engine: Engine,
        settings: AccessSettings | None = None,
        clock: Clock | None = None,
        audit: AuditLog | None = None,
        refresh_s: float = 30.0,
    ) -> None:
        self.engine = engine
        self.settings = settings or AccessSettings()
        self.clock = clock or SystemClock()
        self.audit = audit
        self.refresh_s = refresh_s  # how stale the cache may be (rotations by other processes)
        self._lock = threading.RLock()
        self._active: _Active | None = None
        self._public: dict[str, tuple[Ed25519PublicKey, float | None]] = {}
        self._loaded_at = -math.inf

    # -- signing ------------------------------------------------------------------------

    def sign(self, payload: bytes, conn: Connection | None = None) -> tuple[str, bytes]:
        """(key id, signature) with the active key; makes or rotates the key when due."""
        active = self._signing_key(conn)
        return active.kid, active.key.sign(payload)

    def active_kid(self, conn: Connection | None = None) -> str:
        return self._signing_key(conn).kid

    def ready(self) -> bool:
        """Whether a key is at hand to sign with at once (no I/O, no waiting)."""
        return self._active is not None

    def _signing_key(self, conn: Connection | None) -> _Active:
        active = self._active
        if conn is not None and active is not None:
            # inside a caller's transaction: never wait on the ring's lock (another thread may
            # hold it while it waits for that transaction's database lock); rotation is done
            # by the next call outside a transaction
            return active
        now = self.clock.now()
        with self._lock:
            active = self._active
            due = active is None or now - active.created_at > self.settings.key_max_age_s
            if due or now - self._loaded_at > self.refresh_s:
                self._refresh(conn, now, force_new=False)
            assert self._active is not None
            return self._active

    def rotate(self, actor: str = SYSTEM_ACTOR, conn: Connection | None = None) -> SigningKeyInfo:
        """Retire the active key now and sign with a new one (audited)."""
        with self._lock:
            return self._refresh(conn, self.clock.now(), force_new=True, actor=actor)

    # -- verification -------------------------------------------------------------------

    def verification_key(self, kid: str) -> Ed25519PublicKey | None:
        """The key for a token signed by `kid`: while active, and one token TTL after."""
        entry = self._public_entry(kid)
        if entry is None:
            return None
        key, retired_at = entry
        if retired_at is not None and self.clock.now() > retired_at + self.settings.token_ttl_s:
            return None
        return key

    def history_key(self, kid: str) -> Ed25519PublicKey | None:
        """The key for an audit checkpoint signed by `kid`, whenever it was retired."""
        entry = self._public_entry(kid)
        return None if entry is None else entry[0]

    def list_keys(self) -> list[SigningKeyInfo]:
        """Every key's public facts, newest first."""
        with connect(self.engine) as conn:
            rows = self._rows(conn)
        return [_info(r) for r in sorted(rows, key=lambda r: (r["created_at"], r["kid"]))][::-1]

    def _public_entry(self, kid: str) -> tuple[Ed25519PublicKey, float | None] | None:
        now = self.clock.now()
        entry = self._public.get(kid)
        # an unknown id reloads at most once a second, so garbage ids cannot flood the store
        stale = now - self._loaded_at > (self.refresh_s if entry is not None else 1.0)
        if stale:
            with self._lock, connect(self.engine) as conn:
                self._load_public(self._rows(conn), now)
            entry = self._public.get(kid)
        return entry

    # -- loading and rotation -----------------------------------------------------------

    def _refresh(
        self, conn: Connection | None, now: float, force_new: bool, actor: str = SYSTEM_ACTOR
    ) -> SigningKeyInfo:
        if conn is None:
            if not force_new:  # the common case reads only, and takes no lock
                with connect(self.engine) as reader:
                    rows = self._rows(reader)
                newest = _newest(rows)
                if newest is not None and now - newest["created_at"] <= self.settings.key_max_age_s:
                    return self._install(newest, rows, now)
            with begin(self.engine) as own:
                return self._refresh(own, now, force_new, actor)
        if self.audit is not None:
            self.audit.lock(conn)  # one rotation at a time, across processes
        rows = self._rows(conn)
        newest = _newest(rows)
        if force_new or newest is None or now - newest["created_at"] > self.settings.key_max_age_s:
            live = [r["kid"] for r in rows if r["retired_at"] is None]
            self._create(conn, now, live, actor)
            rows = self._rows(conn)
            newest = _newest(rows)
        assert newest is not None
        return self._install(newest, rows, now)

    def _install(
        self, newest: dict[str, Any], rows: list[dict[str, Any]], now: float
    ) -> SigningKeyInfo:
        if self._active is None or self._active.kid != newest["kid"]:
            self._active = _Active(newest["kid"], newest["created_at"], self._private(newest))
        self._load_public(rows, now)
        return _info(newest)

    def _create(
        self, conn: Connection, now: float, retire: list[str], actor: str
    ) -> dict[str, Any]:
        key = Ed25519PrivateKey.generate()
        passphrase = self.settings.key_passphrase
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(passphrase)
            if passphrase
            else serialization.NoEncryption()
        )
        row: dict[str, Any] = {
            "kid": "key_" + secrets.token_hex(8),
            "algorithm": ALGORITHM,
            "public_key": b64url(
                key.public_key().public_bytes(
                    serialization.Encoding.Raw, serialization.PublicFormat.Raw
                )
            ),
            "private_key": key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
            ).decode("ascii"),
            "encrypted": passphrase is not None,
            "created_at": now,
            "retired_at": None,
        }
        if retire:
            conn.execute(
                update(signing_keys).where(signing_keys.c.kid.in_(retire)).values(retired_at=now)
            )
        conn.execute(insert(signing_keys).values(row))
        if self.audit is not None:
            kind = "signing_key.rotated" if retire else "signing_key.created"
            data = {"kid": row["kid"], "algorithm": ALGORITHM, "retired": retire}
            self.audit.append_in(conn, [AuditEvent(kind, actor, data)], allow_checkpoint=False)
        return row

    def _private(self, row: Mapping[str, Any]) -> Ed25519PrivateKey:
        passphrase = self.settings.key_passphrase if row["encrypted"] else None
        if row["encrypted"] and passphrase is None:
            raise TetherError(
                ErrorCode.CONFIG_INVALID,
                f"signing key {row['kid']} is encrypted: set TETHER_SIGNING_KEY_PASSPHRASE",
            )
        try:
            key = serialization.load_pem_private_key(row["private_key"].encode(), passphrase)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            raise TetherError(
                ErrorCode.CONFIG_INVALID,
                f"signing key {row['kid']} cannot be loaded (wrong passphrase or damaged)",
            ) from None
        if not isinstance(key, Ed25519PrivateKey):
            raise TetherError(ErrorCode.CONFIG_INVALID, f"signing key {row['kid']} is not Ed25519")
        return key

    def _load_public(self, rows: list[dict[str, Any]], now: float) -> None:
        loaded: dict[str, tuple[Ed25519PublicKey, float | None]] = {}
        for row in rows:
            try:
                raw = b64url_decode(row["public_key"])
                loaded[row["kid"]] = (Ed25519PublicKey.from_public_bytes(raw), row["retired_at"])
            except ValueError:
                continue  # a damaged public key verifies nothing
        self._public = loaded
        self._loaded_at = now

    @staticmethod
    def _rows(conn: Connection) -> list[dict[str, Any]]:
        return [dict(r) for r in conn.execute(select(signing_keys)).mappings().all()]


def _newest(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    live = [r for r in rows if r["retired_at"] is None]
    return max(live, key=lambda r: (r["created_at"], r["kid"])) if live else None


def _info(row: Mapping[str, Any]) -> SigningKeyInfo:
    return SigningKeyInfo(
        kid=row["kid"],
        created_at=row["created_at"],
        retired_at=row["retired_at"],
        encrypted=bool(row["encrypted"]),
        public_key=row["public_key"],
    )
