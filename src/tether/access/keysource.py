"""Where the private signing key lives: a file or an environment variable here, a KMS or HSM in
a deployment. Never the system of record: whoever can write the database must not be able to
sign.

A `KeySource` is one key that can sign and show its public half. A `KeyProvider` hands out the
current key and, where it can, replaces it (rotation). A deployment with a KMS implements
`KeyProvider.current()` to return a source whose `sign` calls the KMS, and pins the KMS key's
public half in the trust file (`tether.access.trust`); nothing else in tether changes.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tether.core.errors import ErrorCode, TetherError

ALGORITHM = "Ed25519"


class KeySource(Protocol):
    """One signing key; its private half is never exposed."""

    @property
    def key_id(self) -> str:
        """The key's id (`key_` + 16 hex digits of SHA-256 over the raw public key)."""
        ...

    def public_key(self) -> bytes:
        """The raw 32-byte Ed25519 public key."""
        ...

    def sign(self, payload: bytes) -> bytes:
        """An Ed25519 signature over `payload`."""
        ...


class KeyProvider(Protocol):
    """Hands out the key that signs now; replaces it on rotation."""

    rotates: bool  # whether `replace` can make a new key here

    def current(self) -> KeySource:
        """The signing key, made on first use where the provider can make one."""
        ...

    def replace(self, pin: Callable[[KeySource], object]) -> KeySource:
        """Make a new key, have `pin` pin its public half, and only then make it the current
        one: when `pin` raises, the current key stays current (and signing). Raises
        CONFIG_INVALID where rotation happens elsewhere (an environment variable, a KMS)."""
        ...

    def describe(self) -> str:
        """Where the key lives, for messages (never the key)."""
        ...


def key_id_for(public_key: bytes) -> str:
    """The id of the key with this raw public half: the id follows from the key itself."""
    return "key_" + hashlib.sha256(public_key).hexdigest()[:16]


class LocalKey:
    """An Ed25519 key held in this process's memory."""

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        self._public = key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self._kid = key_id_for(self._public)

    @property
    def key_id(self) -> str:
        return self._kid

    def public_key(self) -> bytes:
        return self._public

    def sign(self, payload: bytes) -> bytes:
        return self._key.sign(payload)

    def __repr__(self) -> str:
        return f"LocalKey({self._kid})"


class FileKeyProvider:
    """The key in a PKCS#8 PEM file (mode 0600), made on first use; encrypted with
    `passphrase` when one is set. Rotation pins the new key, then puts its file in place
    atomically, so every process reading the same file moves to a key that is pinned."""

    rotates = True

    def __init__(self, path: Path, passphrase: bytes | None = None) -> None:
        self.path = path
        self.passphrase = passphrase
        self._cached: tuple[tuple[int, int], LocalKey] | None = None

    def describe(self) -> str:
        return f"the key file {self.path}"

    def current(self) -> KeySource:
        try:
            return self._load()
        except FileNotFoundError:
            pass
        key = Ed25519PrivateKey.generate()
        temp = self._write_temp(key)
        try:
            os.link(temp, self.path)  # fails if another process made the key first
        except FileExistsError:
            pass
        finally:
            temp.unlink(missing_ok=True)
        return self._load()

    def replace(self, pin: Callable[[KeySource], object]) -> KeySource:
        key = Ed25519PrivateKey.generate()
        temp = self._write_temp(key)
        try:  # the file keeps the pinned key until the new one is pinned too
            pin(LocalKey(key))
            os.replace(temp, self.path)
        finally:
            temp.unlink(missing_ok=True)
        return self._load()

    def on_disk(self) -> tuple[str, bool] | None:
        """The id of the key the file holds and whether the file is encrypted (what is on
        disk, whatever the passphrase setting is now); None when there is no key file or it
        cannot be read."""
        try:
            pem = self.path.read_bytes()
            return self._load().key_id, _is_encrypted(pem)
        except (OSError, TetherError):
            return None

    def _load(self) -> LocalKey:
        stat = self.path.stat()
        mark = (stat.st_ino, stat.st_mtime_ns)
        if self._cached is not None and self._cached[0] == mark:
            return self._cached[1]
        key = load_private_key(self.path.read_bytes(), self.passphrase, self.describe())
        local = LocalKey(key)
        self._cached = (mark, local)
        return local

    def _write_temp(self, key: Ed25519PrivateKey) -> Path:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(self.passphrase)
            if self.passphrase
            else serialization.NoEncryption()
        )
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )
        temp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{os.urandom(4).hex()}")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, pem)
            os.fsync(fd)
        finally:
            os.close(fd)
        return temp


class EnvKeyProvider:
    """The key given in an environment variable (`TETHER_AUDIT_SIGNING_KEY`): a PKCS#8 PEM or
    the base64url 32-byte Ed25519 seed. It rotates when the operator changes the variable."""

    rotates = False

    def __init__(self, value: str, passphrase: bytes | None = None) -> None:
        text = value.strip()
        if text.startswith("-----BEGIN"):
            key = load_private_key(text.encode("ascii"), passphrase, self.describe())
        else:
            try:
                seed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
                key = Ed25519PrivateKey.from_private_bytes(seed)
            except ValueError:
                raise TetherError(
                    ErrorCode.CONFIG_INVALID,
                    "TETHER_AUDIT_SIGNING_KEY must be a PKCS#8 PEM or a base64url 32-byte seed",
                ) from None
        self._key = LocalKey(key)

    def describe(self) -> str:
        return "TETHER_AUDIT_SIGNING_KEY"

    def current(self) -> KeySource:
        return self._key

    def replace(self, pin: Callable[[KeySource], object]) -> KeySource:
        raise TetherError(
            ErrorCode.CONFIG_INVALID,
            "the signing key comes from TETHER_AUDIT_SIGNING_KEY: rotate it by setting a new one",
        )


def _is_encrypted(pem: bytes) -> bool:
    """Whether a PEM holds an encrypted private key (PKCS#8 or a legacy encrypted PEM)."""
    return b"ENCRYPTED" in pem


def load_private_key(pem: bytes, passphrase: bytes | None, where: str) -> Ed25519PrivateKey:
    """An Ed25519 private key from PEM; CONFIG_INVALID when it cannot be read."""
    encrypted = _is_encrypted(pem)
    if encrypted and passphrase is None:
        raise TetherError(
            ErrorCode.CONFIG_INVALID,
            f"{where} is encrypted: set TETHER_SIGNING_KEY_PASSPHRASE",
        )
    try:
        key = serialization.load_pem_private_key(pem, passphrase if encrypted else None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise TetherError(
            ErrorCode.CONFIG_INVALID, f"{where} cannot be loaded (wrong passphrase or damaged)"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise TetherError(ErrorCode.CONFIG_INVALID, f"{where} is not an Ed25519 key")
    return key
