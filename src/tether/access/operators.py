"""Operators of the control plane: roles, permissions, and API keys stored hashed.

A key is `tk_<id>.<secret>`: the id finds the row, the secret is compared with its SHA-256 in
constant time. Secrets are 256 random bits, so a plain hash is as strong as a slow one and keeps
every request's check cheap. A key is shown once, when it is created; creating and revoking
keys are audited in the same transaction as the change.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Engine, func, insert, select, update

from tether.access.audit import AuditEvent, AuditLog
from tether.access.storage import begin, connect
from tether.core.clock import Clock, SystemClock
from tether.core.errors import ErrorCode, TetherError
from tether.store.access_schema import api_keys
from tether.store.db import read_row

KEY_PREFIX = "tk_"
_KEY_RE = re.compile(r"^tk_([0-9a-f]{16})\.([A-Za-z0-9_-]{43})$")
# every request's read, on the driver's cursor: SQLAlchemy's connection and row handling cost
# several times the read itself (`tether.store.db.read_row`)
_KEY_BY_ID = "SELECT id, name, role, secret_hash, revoked_at FROM api_keys WHERE id = ?"
MAX_NAME_CHARS = 128


class Role(StrEnum):
    VIEWER = "viewer"  # reads runs and the audit trail
    APPROVER = "approver"  # a viewer who may also decide escalated calls
    ADMIN = "admin"  # everything, including keys and configuration
    SERVICE = "service"  # a backend that starts runs on behalf of customers, nothing else


class Permission(StrEnum):
    RUNS_READ = "runs:read"
    RUNS_CREATE = "runs:create"
    AUDIT_READ = "audit:read"
    APPROVALS_DECIDE = "approvals:decide"
    KEYS_MANAGE = "keys:manage"
    CONFIG_CHANGE = "config:change"
    # speak for any customer without their end-user token (the caller vouches for who it is)
    ACT_AS = "principals:act_as"


_VIEW = frozenset({Permission.RUNS_READ, Permission.AUDIT_READ})
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: _VIEW,
    Role.APPROVER: _VIEW | {Permission.APPROVALS_DECIDE},
    Role.ADMIN: frozenset(Permission),
    Role.SERVICE: frozenset({Permission.RUNS_CREATE, Permission.ACT_AS}),
}


@dataclass(frozen=True)
class Operator:
    """An authenticated caller of the control plane."""

    key_id: str
    name: str
    role: Role

    @property
    def actor(self) -> str:
        """How audit events name this operator."""
        return f"operator:{self.key_id}"

    def can(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]

    def require(self, permission: Permission) -> None:
        """Raise ROLE_FORBIDDEN unless the role grants `permission`."""
        if not self.can(permission):
            raise TetherError(
                ErrorCode.ROLE_FORBIDDEN,
                f"role {self.role.value!r} may not {permission.value}",
                {"role": self.role.value, "permission": permission.value},
            )


@dataclass(frozen=True)
class ApiKeyInfo:
    """An API key's public facts (never its secret or hash)."""

    id: str
    name: str
    role: Role
    created_at: float
    created_by: str
    revoked_at: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role.value,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "revoked_at": self.revoked_at,
            "active": self.revoked_at is None,
        }


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def parse_role(value: str) -> Role:
    """A role by name; BAD_REQUEST naming the choices otherwise."""
    try:
        return Role(value)
    except ValueError:
        choices = ", ".join(r.value for r in Role)
        raise TetherError(
            ErrorCode.BAD_REQUEST, f"role must be one of {choices}, not {value!r}"
        ) from None


class OperatorKeys:
    """Creates, lists, revokes and checks operator API keys."""

    def __init__(self, engine: Engine, audit: AuditLog, clock: Clock | None = None) -> None:
        self.engine = engine
        self.audit = audit
        self.clock = clock or SystemClock()

    def create(
        self, role: Role | str, name: str = "", actor: str = "cli"
    ) -> tuple[str, ApiKeyInfo]:
        """A new key (shown only now) and its public facts; audited."""
        with begin(self.engine) as conn:
            return self._create(
                conn, parse_role(role) if isinstance(role, str) else role, name, actor
            )

    def bootstrap_admin(self, actor: str = "system:first-start") -> str | None:
        """On first start (no key was ever made) create an admin key and return it; else None.

        The chain head is locked first, so two processes starting at once make one key."""
        with begin(self.engine) as conn:
            self.audit.lock(conn)
            if conn.execute(select(func.count()).select_from(api_keys)).scalar_one() > 0:
                return None
            key, _ = self._create(conn, Role.ADMIN, "first admin", actor)
            return key

    def list_keys(self) -> list[ApiKeyInfo]:
        """Every key, newest first, revoked ones included."""
        query = select(api_keys).order_by(api_keys.c.created_at.desc(), api_keys.c.id)
        with connect(self.engine) as conn:
            return [self._info(row) for row in conn.execute(query).mappings().all()]

    def revoke(self, key_id: str, actor: str = "cli") -> ApiKeyInfo:
        """Revoke a key (idempotent); API_KEY_NOT_FOUND if there is no such key; audited."""
        with begin(self.engine) as conn:
            self.audit.lock(conn)
            row = conn.execute(select(api_keys).where(api_keys.c.id == key_id)).mappings().first()
            if row is None:
                raise TetherError(ErrorCode.API_KEY_NOT_FOUND, f"no API key with id {key_id!r}")
            if row["revoked_at"] is not None:
                return self._info(row)
            now = self.clock.now()
            conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(revoked_at=now))
            event = AuditEvent("api_key.revoked", actor, {"key_id": key_id, "role": row["role"]})
            self.audit.append_in(conn, [event])
            return self._info({**row, "revoked_at": now})

    def authenticate(self, presented: str | None) -> Operator:
        """The operator a bearer key belongs to; AUTH_REQUIRED or AUTH_INVALID otherwise."""
        if not presented:
            raise TetherError(ErrorCode.AUTH_REQUIRED, "send an operator API key as a bearer token")
        match = _KEY_RE.match(presented.strip())
        if match is None:
            raise TetherError(ErrorCode.AUTH_INVALID, "the API key is not valid")
        key_id, secret = match.groups()
        row = read_row(self.engine, _KEY_BY_ID, (key_id,))
        # compared even when the id is unknown, so timing does not reveal which ids exist
        expected = row[3] if row is not None else "0" * 64
        if not hmac.compare_digest(_hash(secret), expected) or row is None:
            raise TetherError(ErrorCode.AUTH_INVALID, "the API key is not valid")
        found_id, name, role, _, revoked_at = row
        if revoked_at is not None:
            raise TetherError(ErrorCode.AUTH_INVALID, "the API key was revoked")
        return Operator(key_id=found_id, name=name, role=Role(role))

    def _create(self, conn: Any, role: Role, name: str, actor: str) -> tuple[str, ApiKeyInfo]:
        name = " ".join(name.split())[:MAX_NAME_CHARS] or f"{role.value} key"
        key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
        row = {
            "id": key_id,
            "name": name,
            "role": role.value,
            "secret_hash": _hash(secret),
            "created_at": self.clock.now(),
            "created_by": actor,
            "revoked_at": None,
        }
        conn.execute(insert(api_keys).values(row))
        data = {"key_id": key_id, "role": role.value, "name": name}
        self.audit.append_in(conn, [AuditEvent("api_key.created", actor, data)])
        return f"{KEY_PREFIX}{key_id}.{secret}", self._info(row)

    @staticmethod
    def _info(row: Any) -> ApiKeyInfo:
        return ApiKeyInfo(
            id=row["id"],
            name=row["name"],
            role=Role(row["role"]),
            created_at=row["created_at"],
            created_by=row["created_by"],
            revoked_at=row["revoked_at"],
        )
