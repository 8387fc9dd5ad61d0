"""Dashboard sessions held by the server, and the anti-forgery tokens of the dashboard's forms.

Logging in on `/login` starts a session: the browser's cookie holds a random session id, the
database only its SHA-256, bound to the operator API key that logged in. A session ends when
it is idle too long, when it reaches its absolute lifetime, on logout, or as soon as its key is
revoked. Each login starts a new id, so an id planted in a browser before login is worthless.

Every state-changing form carries a token: for a session, an HMAC of the session id (it
changes with the session, and reveals nothing about the id); for the login form, which has no
session yet, a signed double-submit token, an HMAC under a server secret of a nonce the
browser holds in a cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Engine, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from tether.access.operators import Operator, Role
from tether.access.storage import begin, connect
from tether.core.clock import Clock, SystemClock
from tether.core.errors import ErrorCode, TetherError
from tether.store.access_schema import api_keys
from tether.store.sessions_schema import dashboard_secrets, operator_sessions

SESSION_COOKIE = "tether_session"
LOGIN_COOKIE = "tether_login"  # the login form's nonce, before there is a session
CSRF_FIELD = "csrf_token"
DEFAULT_IDLE_S = 30 * 60.0
DEFAULT_MAX_S = 12 * 3600.0
TOUCH_EVERY_S = 60.0  # a session's last-seen time is written at most this often
LOGIN_SECRET = "login-form"
_ID_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")  # secrets.token_urlsafe(32)
_NONCE_RE = re.compile(r"^[A-Za-z0-9_-]{32}$")  # secrets.token_urlsafe(24)
_ENDED = "the session ended; log in again"


@dataclass(frozen=True)
class SessionPolicy:
    """How long a session lasts: `idle_s` since its last request, `max_s` since login."""

    idle_s: float = DEFAULT_IDLE_S
    max_s: float = DEFAULT_MAX_S

    def __post_init__(self) -> None:
        if not (0 < self.idle_s <= self.max_s):
            raise TetherError(
                ErrorCode.CONFIG_INVALID,
                "session lifetimes must be positive, the idle one no longer than the absolute one",
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SessionPolicy:
        """From TETHER_SESSION_IDLE_S and TETHER_SESSION_MAX_S (seconds), else the defaults
        (30 minutes idle, 12 hours in all); CONFIG_INVALID for values that are not numbers."""
        env = os.environ if environ is None else environ
        return cls(
            idle_s=_seconds(env, "TETHER_SESSION_IDLE_S", DEFAULT_IDLE_S),
            max_s=_seconds(env, "TETHER_SESSION_MAX_S", DEFAULT_MAX_S),
        )


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        return float(text)
    except ValueError:
        raise TetherError(
            ErrorCode.CONFIG_INVALID, f"{name} must be a number of seconds, not {text[:40]!r}"
        ) from None


@dataclass(frozen=True)
class Session:
    """A live session: who is logged in, and the token its forms must carry."""

    operator: Operator
    csrf_token: str


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("ascii")).hexdigest()


def session_csrf_token(session_id: str) -> str:
    """The anti-forgery token of a session's forms."""
    return hmac.new(session_id.encode("ascii"), b"tether dashboard form", "sha256").hexdigest()


def tokens_match(expected: str, presented: str | None) -> bool:
    """Whether a form's token is the expected one (in constant time; never for an empty one)."""
    return bool(expected) and bool(presented) and hmac.compare_digest(expected, presented or "")


class OperatorSessions:
    """Starts, checks and ends dashboard sessions in the store."""

    def __init__(
        self, engine: Engine, policy: SessionPolicy | None = None, clock: Clock | None = None
    ) -> None:
        self.engine = engine
        self.policy = policy or SessionPolicy.from_env()
        self.clock = clock or SystemClock()
        self._login_secret: bytes | None = None

    def start(self, operator: Operator, replacing: str | None = None) -> tuple[str, Session]:
        """A new session for `operator` (its id, shown only now, goes in the cookie); the
        session the browser held before, if any, ends. Expired sessions are swept."""
        session_id = secrets.token_urlsafe(32)
        now = self.clock.now()
        with begin(self.engine) as conn:
            if replacing and _ID_RE.match(replacing):
                conn.execute(
                    delete(operator_sessions).where(
                        operator_sessions.c.id_hash == _digest(replacing)
                    )
                )
            conn.execute(delete(operator_sessions).where(self._expired(now)))
            conn.execute(
                insert(operator_sessions).values(
                    id_hash=_digest(session_id),
                    key_id=operator.key_id,
                    created_at=now,
                    last_seen_at=now,
                )
            )
        return session_id, Session(operator, session_csrf_token(session_id))

    def resolve(self, session_id: str | None) -> Session:
        """The live session a cookie names; AUTH_REQUIRED without one, AUTH_INVALID when it is
        unknown, ended, expired, or its API key was revoked."""
        if not session_id:
            raise TetherError(ErrorCode.AUTH_REQUIRED, "log in with an operator API key")
        if not _ID_RE.match(session_id):
            raise TetherError(ErrorCode.AUTH_INVALID, _ENDED)
        digest = _digest(session_id)
        query = (
            select(operator_sessions, api_keys.c.name, api_keys.c.role, api_keys.c.revoked_at)
            .join(api_keys, api_keys.c.id == operator_sessions.c.key_id)
            .where(operator_sessions.c.id_hash == digest)
        )
        with connect(self.engine) as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            raise TetherError(ErrorCode.AUTH_INVALID, _ENDED)
        now = self.clock.now()
        if row["revoked_at"] is not None:
            self.end_for_key(row["key_id"])
            raise TetherError(ErrorCode.AUTH_INVALID, "the API key of this session was revoked")
        idle = now - row["last_seen_at"] > self.policy.idle_s
        if idle or now - row["created_at"] > self.policy.max_s:
            self.end(session_id)
            raise TetherError(ErrorCode.AUTH_INVALID, "the session expired; log in again")
        if now - row["last_seen_at"] >= min(TOUCH_EVERY_S, self.policy.idle_s / 4):
            with begin(self.engine) as conn:
                conn.execute(
                    update(operator_sessions)
                    .where(operator_sessions.c.id_hash == digest)
                    .values(last_seen_at=now)
                )
        operator = Operator(key_id=row["key_id"], name=row["name"], role=Role(row["role"]))
        return Session(operator, session_csrf_token(session_id))

    def end(self, session_id: str | None) -> bool:
        """End one session (logout); whether there was one."""
        if not session_id or not _ID_RE.match(session_id):
            return False
        with begin(self.engine) as conn:
            done = conn.execute(
                delete(operator_sessions).where(operator_sessions.c.id_hash == _digest(session_id))
            )
        return bool(done.rowcount)

    def end_for_key(self, key_id: str) -> int:
        """End every session of one API key; how many there were."""
        with begin(self.engine) as conn:
            done = conn.execute(
                delete(operator_sessions).where(operator_sessions.c.key_id == key_id)
            )
        return int(done.rowcount)

    def _expired(self, now: float) -> ColumnElement[bool]:
        return or_(
            operator_sessions.c.last_seen_at < now - self.policy.idle_s,
            operator_sessions.c.created_at < now - self.policy.max_s,
        )

    # -- the login form's token ------------------------------------------------------------

    @staticmethod
    def login_nonce(presented: str | None) -> str:
        """The login form's nonce: the browser's, if it holds a well-formed one, else new."""
        return presented if presented and _NONCE_RE.match(presented) else secrets.token_urlsafe(24)

    def login_token(self, nonce: str) -> str:
        """The token the login form carries for the nonce in the browser's cookie."""
        return hmac.new(self._secret(), b"login:" + nonce.encode("ascii"), "sha256").hexdigest()

    def login_token_valid(self, nonce: str | None, presented: str | None) -> bool:
        """Whether a posted login form carries the token of the browser's nonce."""
        if not nonce or not _NONCE_RE.match(nonce):
            return False
        return tokens_match(self.login_token(nonce), presented)

    def _secret(self) -> bytes:
        """The signing secret, shared by every replica through the store (made on first use)."""
        if self._login_secret is None:
            query = select(dashboard_secrets.c.secret).where(
                dashboard_secrets.c.name == LOGIN_SECRET
            )
            with connect(self.engine) as conn:
                found = conn.execute(query).scalar_one_or_none()
            if found is None:
                made = {
                    "name": LOGIN_SECRET,
                    "secret": secrets.token_urlsafe(32),
                    "created_at": self.clock.now(),
                }
                try:
                    with begin(self.engine) as conn:
                        conn.execute(insert(dashboard_secrets).values(made))
                    found = made["secret"]
                except IntegrityError:  # another process made it first
                    with connect(self.engine) as conn:
                        found = conn.execute(query).scalar_one()
            self._login_secret = str(found).encode("ascii")
        return self._login_secret
