"""Ed25519 signing keys: the private half outside the database, the public half pinned.

The private key comes from a `KeyProvider` (`tether.access.keysource`): by default a file in
the data directory, made with mode 0600 on first use, or `TETHER_AUDIT_SIGNING_KEY`, or a KMS
in a deployment. It is never stored in the system of record, printed, logged or exported.
Every key that signs is first pinned in the trust file (`tether.access.trust`), and only
pinned keys verify tokens and audit checkpoints: a key row written into the database is
worth nothing. The current key is retired when it grows older than `key_max_age_s` or on
`rotate()`; a retired key still verifies tokens for one token TTL past the moment the last
replica could still mint with it (tokens in flight stay valid for their whole lifetime; see
`token_grace_s`) and checkpoints forever (history stays checkable).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection, Engine

from tether.access.audit import AuditEvent, AuditLog
from tether.access.canonical import b64url
from tether.access.keysource import (
    ALGORITHM,
    EnvKeyProvider,
    FileKeyProvider,
    KeyProvider,
    KeySource,
)
from tether.access.settings import AccessSettings, AuditPaths
from tether.access.storage import begin
from tether.access.trust import TrustedKey, TrustFile
from tether.core.clock import Clock, SystemClock
from tether.core.errors import ErrorCode, TetherError

SYSTEM_ACTOR = "system"
log = logging.getLogger("tether.access")


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
    source: KeySource


def default_provider(paths: AuditPaths, settings: AccessSettings) -> KeyProvider:
    """`TETHER_AUDIT_SIGNING_KEY` when set, else the key file in the data directory."""
    if settings.audit_signing_key:
        return EnvKeyProvider(settings.audit_signing_key, settings.key_passphrase)
    return FileKeyProvider(paths.key_file, settings.key_passphrase)


class SigningKeyRing:
    """Signs with the current key; finds pinned public keys by id for verification."""

    def __init__(
        self,
        engine: Engine,
        settings: AccessSettings | None = None,
        clock: Clock | None = None,
        audit: AuditLog | None = None,
        refresh_s: float = 30.0,
        *,
        provider: KeyProvider | None = None,
        trust: TrustFile | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings or AccessSettings()
        self.clock = clock or SystemClock()
        self.audit = audit
        self.refresh_s = refresh_s  # how stale the key may be (rotations by other processes)
        self.paths = AuditPaths.resolve(engine.url, self.settings)
        self.provider = provider or default_provider(self.paths, self.settings)
        self.trust = trust or TrustFile(self.paths.trust_file)
        self._lock = threading.RLock()
        self._active: _Active | None = None
        self._loaded_at = -math.inf
        self._trusted: dict[str, TrustedKey] = {}
        self._trusted_at = -math.inf  # monotonic time of the last read of the trust file
        self._rotation_failed_at = -math.inf  # when a due rotation last failed

    # -- signing ------------------------------------------------------------------------

    def sign(self, payload: bytes, conn: Connection | None = None) -> tuple[str, bytes]:
        """(key id, signature) with the current key; makes or rotates the key when due."""
        active = self._signing_key(conn)
        return active.kid, active.source.sign(payload)

    def active_kid(self, conn: Connection | None = None) -> str:
        """The current key's id; makes (and pins, audited in `conn`) the key on first use."""
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
            if (
                self._active is None
                or now - self._loaded_at > self.refresh_s
                or self._retired_elsewhere(self._active.kid)
            ):
                self._adopt(self.provider.current(), conn, now)
            assert self._active is not None
            if (
                self.provider.rotates
                and now - self._active.created_at > self.settings.key_max_age_s
                and now - self._rotation_failed_at > self.refresh_s
            ):
                self._scheduled_rotation(conn, now)
            return self._active

    def _scheduled_rotation(self, conn: Connection | None, now: float) -> None:
        """Rotate a key that is due; when that fails (the trust file cannot be written, say),
        the pinned key goes on signing, and the rotation is tried again later: a key past its
        age is better than nothing that can sign."""
        try:
            self._rotate(conn, now, SYSTEM_ACTOR, force=False)
        except (OSError, TetherError) as exc:
            self._rotation_failed_at = now
            kid = self._active.kid if self._active else None
            log.warning("signing key %s is due to rotate but could not: %s", kid, exc)

    def _retired_elsewhere(self, kid: str) -> bool:
        """Whether the trust file (re-read at most once a second) says another process retired
        the key this one signs with since it was loaded: the key file is then read again."""
        entry = self._trusted_keys().get(kid)
        return entry is not None and (entry.retired_at or -math.inf) >= self._loaded_at

    def rotate(self, actor: str = SYSTEM_ACTOR, conn: Connection | None = None) -> SigningKeyInfo:
        """Sign with a new key from now on (audited); the first call on a fresh install makes
        the first key. CONFIG_INVALID when the key lives where tether cannot replace it."""
        with self._lock:
            self._rotate(conn, self.clock.now(), actor, force=True)
            assert self._active is not None
            return self._info(self._trusted_keys(force=True)[self._active.kid], self._on_disk())

    # -- verification -------------------------------------------------------------------

    @property
    def token_grace_s(self) -> float:
        """How long a retired key still verifies tokens: one token TTL past the moment the
        last replica could still mint with it. A replica notices a rotation another one made
        within `refresh_s`, so a token it minted meanwhile verifies for its whole lifetime."""
        return self.settings.token_ttl_s + self.refresh_s

    def verification_key(self, kid: str) -> Ed25519PublicKey | None:
        """The key for a token signed by `kid`: pinned, and not retired more than
        `token_grace_s` ago."""
        entry = self._trusted_keys().get(kid)
        if entry is None:
            return None
        if entry.retired_at is not None and (
            self.clock.now() > entry.retired_at + self.token_grace_s
        ):
            return None
        return entry.verifier()

    def signed_by(self, kid: str) -> Ed25519PublicKey | None:
        """The key a signature `sign` just made under `kid` verifies with, known without
        verifying it: the pinned key accepted now, when its bytes are the public half of the key
        that signs (a signature always verifies under that key); else None."""
        active = self._active
        if active is None or active.kid != kid:
            return None
        key = self.verification_key(kid)
        if key is None or key.public_bytes_raw() != active.source.public_key():
            return None
        return key

    def history_key(self, kid: str) -> Ed25519PublicKey | None:
        """The key for an audit checkpoint signed by `kid`, if pinned (whenever retired)."""
        entry = self._trusted_keys(force=True).get(kid)
        return None if entry is None else entry.verifier()

    def list_keys(self) -> list[SigningKeyInfo]:
        """Every pinned key's public facts, newest first."""
        found = self._trusted_keys(force=True).values()
        ordered = sorted(found, key=lambda k: (k.added_at, k.key_id), reverse=True)
        on_disk = self._on_disk()
        return [self._info(k, on_disk) for k in ordered]

    def _trusted_keys(self, force: bool = False) -> dict[str, TrustedKey]:
        now = time.monotonic()
        # reread at most once a second (the file's stat decides whether it is parsed again)
        if force or now - self._trusted_at > 1.0:
            self._trusted = self.trust.keys()
            self._trusted_at = now
        return self._trusted

    def _on_disk(self) -> tuple[str, bool] | None:
        """The key file's key id and whether the file is encrypted (None: no key file here)."""
        return self.provider.on_disk() if isinstance(self.provider, FileKeyProvider) else None

    def _info(self, key: TrustedKey, on_disk: tuple[str, bool] | None) -> SigningKeyInfo:
        # encrypted at rest: what the key file holds, not whether a passphrase is set now (a
        # key made before it stays plain); a key the file does not hold is not on disk at all
        encrypted = on_disk is not None and on_disk == (key.key_id, True)
        return SigningKeyInfo(key.key_id, key.added_at, key.retired_at, encrypted, key.public_key)

    # -- adopting and rotating ----------------------------------------------------------

    def _adopt(
        self, source: KeySource, conn: Connection | None, now: float, note: str = "first use"
    ) -> bool:
        """Sign with `source` from now on, pinning it first; True when it was new."""
        kid = source.key_id
        known = self.trust.get(kid)  # the common case: pinned already, no lock taken
        if known is not None and known.public_key != b64url(source.public_key()):
            raise TetherError(
                ErrorCode.CONFIG_INVALID,
                f"{self.trust.path} pins {kid} with another public key than "
                f"{self.provider.describe()} holds",
            )
        added = known is None and self.trust.pin(kid, source.public_key(), now, note)
        previous = self._active
        if added and previous is not None and previous.kid != kid:
            self.trust.retire(previous.kid, now)
        if added:
            data = {"kid": kid, "algorithm": ALGORITHM, "retired": []}
            self._record(conn, AuditEvent("signing_key.created", SYSTEM_ACTOR, data))
        pinned = self._trusted_keys(force=True)[kid]
        self._active = _Active(kid, pinned.added_at, source)
        self._loaded_at = now
        return added

    def _rotate(self, conn: Connection | None, now: float, actor: str, force: bool) -> None:
        if conn is None:
            with begin(self.engine) as own:
                self._rotate(own, now, actor, force)
            return
        if self.audit is not None:
            self.audit.lock(conn)  # one rotation at a time, across processes
        if self._adopt(self.provider.current(), conn, now):
            return  # the first key was just made: that is the rotation
        assert self._active is not None
        if not force and now - self._active.created_at <= self.settings.key_max_age_s:
            return  # another process rotated already
        old = self._active.kid
        source = self.provider.replace(
            lambda new: self.trust.pin(new.key_id, new.public_key(), now, f"rotated from {old}")
        )
        self.trust.retire(old, now)
        pinned = self._trusted_keys(force=True)[source.key_id]
        self._active = _Active(source.key_id, pinned.added_at, source)
        self._loaded_at = now
        data = {"kid": source.key_id, "algorithm": ALGORITHM, "retired": [old]}
        self._record(conn, AuditEvent("signing_key.rotated", actor, data))

    def _record(self, conn: Connection | None, event: AuditEvent) -> None:
        if self.audit is None:
            return
        if conn is not None:
            self.audit.append_in(conn, [event], allow_checkpoint=False)
        else:
            with begin(self.engine) as own:
                self.audit.append_in(own, [event], allow_checkpoint=False)
