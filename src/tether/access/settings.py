"""Access settings from the environment: token lifetime, key rotation, revocation, audit."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from tether.core.errors import ErrorCode, TetherError

DEFAULT_TOKEN_TTL_S = 300.0
DEFAULT_KEY_MAX_AGE_S = 7 * 24 * 3600.0
DEFAULT_CHECKPOINT_EVERY = 1000


@dataclass(frozen=True)
class AccessSettings:
    """How long capability tokens live, when signing keys rotate, where revocations go."""

    token_ttl_s: float = DEFAULT_TOKEN_TTL_S
    key_max_age_s: float = DEFAULT_KEY_MAX_AGE_S  # the active signing key rotates after this
    checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY  # sign the audit chain head every N events
    checkpoint_interval_s: float = 300.0  # ... and at least this often while events come in
    redis_url: str | None = None  # revocations in Redis instead of the system of record
    revocation_cache_s: float = 1.0  # how late another process's revocation may be seen (0: never)
    key_passphrase: bytes | None = None  # encrypts private signing keys at rest

    def __post_init__(self) -> None:
        if not 1 <= self.token_ttl_s <= 86400:
            raise TetherError(ErrorCode.CONFIG_INVALID, "the token TTL must be 1 s to 1 day")
        if self.key_max_age_s < self.token_ttl_s:
            raise TetherError(
                ErrorCode.CONFIG_INVALID, "signing keys must live at least one token TTL"
            )
        if not 0 <= self.revocation_cache_s <= 60:
            raise TetherError(ErrorCode.CONFIG_INVALID, "the revocation cache must be 0 to 60 s")
        if self.checkpoint_every < 1:
            raise TetherError(ErrorCode.CONFIG_INVALID, "checkpoint_every must be at least 1")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AccessSettings:
        """Read `TETHER_TOKEN_TTL`, `TETHER_SIGNING_KEY_MAX_AGE`, `TETHER_AUDIT_CHECKPOINT_EVERY`,
        `TETHER_AUDIT_CHECKPOINT_SECONDS`, `TETHER_REDIS_URL`, `TETHER_REVOCATION_CACHE` and
        `TETHER_SIGNING_KEY_PASSPHRASE`; raises CONFIG_INVALID."""
        env = os.environ if environ is None else environ
        passphrase = env.get("TETHER_SIGNING_KEY_PASSPHRASE", "")
        return cls(
            token_ttl_s=_number(env, "TETHER_TOKEN_TTL", DEFAULT_TOKEN_TTL_S),
            key_max_age_s=_number(env, "TETHER_SIGNING_KEY_MAX_AGE", DEFAULT_KEY_MAX_AGE_S),
            checkpoint_every=int(
                _number(env, "TETHER_AUDIT_CHECKPOINT_EVERY", DEFAULT_CHECKPOINT_EVERY)
            ),
            checkpoint_interval_s=_number(env, "TETHER_AUDIT_CHECKPOINT_SECONDS", 300.0),
            redis_url=env.get("TETHER_REDIS_URL", "").strip() or None,
            revocation_cache_s=_number(env, "TETHER_REVOCATION_CACHE", 1.0, allow_zero=True),
            key_passphrase=passphrase.encode("utf-8") if passphrase else None,
        )


def _number(env: Mapping[str, str], name: str, default: float, allow_zero: bool = False) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise TetherError(
            ErrorCode.CONFIG_INVALID, f"{name} must be a number, not {raw!r}"
        ) from None
    if value != value or value < 0 or (value == 0 and not allow_zero):  # NaN or negative
        raise TetherError(ErrorCode.CONFIG_INVALID, f"{name} must be a positive number")
    return value
