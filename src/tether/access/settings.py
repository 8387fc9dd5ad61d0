"""Access settings from the environment: token lifetime, key rotation, revocation, audit."""

from __future__ import annotations

import hashlib
import math
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from tether.core.errors import ErrorCode, TetherError

DEFAULT_TOKEN_TTL_S = 300.0
MAX_TOKEN_TTL_S = 86400.0  # what TETHER_TOKEN_TTL may be: no token any process mints outlives it
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
    key_passphrase: bytes | None = field(default=None, repr=False)  # encrypts the key file
    # Where the audit's trust lives, outside the system of record (see `AuditPaths`):
    audit_dir: str | None = None  # the directory of the three files below
    audit_key_file: str | None = None  # the private signing key (PKCS#8 PEM, mode 0600)
    audit_signing_key: str | None = field(default=None, repr=False)  # the key itself, from env
    audit_trust_file: str | None = None  # the pinned verification keys
    audit_sink_file: str | None = None  # the append-only copy of every checkpoint

    def __post_init__(self) -> None:
        # each message names the environment variable the value comes from (see `from_env`)
        if not 1 <= self.token_ttl_s <= MAX_TOKEN_TTL_S:
            raise _invalid(f"TETHER_TOKEN_TTL must be 1 s to 1 day, not {self.token_ttl_s:g}")
        if self.key_max_age_s < self.token_ttl_s:
            raise _invalid(
                f"TETHER_SIGNING_KEY_MAX_AGE ({self.key_max_age_s:g} s) must be at least "
                f"TETHER_TOKEN_TTL ({self.token_ttl_s:g} s): a signing key outlives its tokens"
            )
        if not 0 <= self.revocation_cache_s <= 60:
            raise _invalid(
                f"TETHER_REVOCATION_CACHE must be 0 to 60 s, not {self.revocation_cache_s:g}"
            )
        if self.checkpoint_every < 1:
            raise _invalid(
                f"TETHER_AUDIT_CHECKPOINT_EVERY must be at least 1, not {self.checkpoint_every}"
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AccessSettings:
        """Read `TETHER_TOKEN_TTL`, `TETHER_SIGNING_KEY_MAX_AGE`, `TETHER_AUDIT_CHECKPOINT_EVERY`,
        `TETHER_AUDIT_CHECKPOINT_SECONDS`, `TETHER_REDIS_URL`, `TETHER_REVOCATION_CACHE` and
        `TETHER_SIGNING_KEY_PASSPHRASE`, and where the audit's keys and anchors live:
        `TETHER_AUDIT_DIR`, `TETHER_AUDIT_KEY_FILE`, `TETHER_AUDIT_SIGNING_KEY`,
        `TETHER_AUDIT_TRUST_FILE`, `TETHER_AUDIT_SINK_FILE`; raises CONFIG_INVALID."""
        env = os.environ if environ is None else environ
        passphrase = env.get("TETHER_SIGNING_KEY_PASSPHRASE", "")
        return cls(
            token_ttl_s=_number(env, "TETHER_TOKEN_TTL", DEFAULT_TOKEN_TTL_S),
            key_max_age_s=_number(env, "TETHER_SIGNING_KEY_MAX_AGE", DEFAULT_KEY_MAX_AGE_S),
            checkpoint_every=_count(env, "TETHER_AUDIT_CHECKPOINT_EVERY", DEFAULT_CHECKPOINT_EVERY),
            checkpoint_interval_s=_number(env, "TETHER_AUDIT_CHECKPOINT_SECONDS", 300.0),
            redis_url=env.get("TETHER_REDIS_URL", "").strip() or None,
            revocation_cache_s=_number(env, "TETHER_REVOCATION_CACHE", 1.0, allow_zero=True),
            key_passphrase=passphrase.encode("utf-8") if passphrase else None,
            audit_dir=_text(env, "TETHER_AUDIT_DIR"),
            audit_key_file=_text(env, "TETHER_AUDIT_KEY_FILE"),
            audit_signing_key=_text(env, "TETHER_AUDIT_SIGNING_KEY"),
            audit_trust_file=_text(env, "TETHER_AUDIT_TRUST_FILE"),
            audit_sink_file=_text(env, "TETHER_AUDIT_SINK_FILE"),
        )


KEY_FILE = "audit-signing.key"
TRUST_FILE = "audit-trust.json"
SINK_FILE = "audit-checkpoints.jsonl"
_EPHEMERAL: dict[str, Path] = {}  # in-memory databases: one scratch directory per process


@dataclass(frozen=True)
class AuditPaths:
    """The files that make the audit tamper-evident, none of them in the database.

    By default they sit together in the data directory: beside a SQLite file, or for
    PostgreSQL under `TETHER_HOME` (default `./.tether`) in `audit/<database>-<url digest>`,
    so each database has its own. Each can be named on its own (a trust file on read-only
    media, a sink on a mount with retention)."""

    directory: Path
    key_file: Path
    trust_file: Path
    sink_file: Path

    @classmethod
    def resolve(cls, url: URL | str, settings: AccessSettings) -> AuditPaths:
        """The paths for the database at `url` under `settings`."""
        directory = Path(settings.audit_dir) if settings.audit_dir else _data_dir(url)
        return cls(
            directory=directory,
            key_file=Path(settings.audit_key_file or directory / KEY_FILE),
            trust_file=Path(settings.audit_trust_file or directory / TRUST_FILE),
            sink_file=Path(settings.audit_sink_file or directory / SINK_FILE),
        )


def _data_dir(url: URL | str) -> Path:
    parsed = make_url(url) if isinstance(url, str) else url
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            return Path(database).absolute().parent
        key = parsed.render_as_string(hide_password=True)
        if key not in _EPHEMERAL:
            _EPHEMERAL[key] = Path(tempfile.mkdtemp(prefix="tether-audit-"))
        return _EPHEMERAL[key]
    home = Path(os.environ.get("TETHER_HOME", "").strip() or ".tether")
    identity = parsed.render_as_string(hide_password=True).encode("utf-8")
    name = "".join(ch if ch.isalnum() else "_" for ch in (parsed.database or "db"))[:40]
    return home / "audit" / f"{name}-{hashlib.sha256(identity).hexdigest()[:12]}"


def _text(env: Mapping[str, str], name: str) -> str | None:
    return env.get(name, "").strip() or None


def _invalid(message: str) -> TetherError:
    return TetherError(ErrorCode.CONFIG_INVALID, message)


def _count(env: Mapping[str, str], name: str, default: int) -> int:
    """A whole number, 1 or more (`1e3` is 1000; `0.5` is refused, not read as 0)."""
    value = float(_number(env, name, default))  # the default is an int
    if not value.is_integer() or value < 1:
        raise _invalid(f"{name} must be a whole number, 1 or more, not {env[name].strip()!r}")
    return int(value)


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
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise TetherError(  # NaN, infinite (1e999 reads as inf) or negative
            ErrorCode.CONFIG_INVALID, f"{name} must be a finite positive number, not {raw!r}"
        )
    return value
