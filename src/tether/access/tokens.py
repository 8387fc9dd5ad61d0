"""Capability tokens: signed (Ed25519), short-lived, scoped grants for one run or one call.

A token is `tct1.<payload>.<signature>`: the payload is the base64url canonical JSON of the
claims, the signature covers `tct1.<payload>`. A run token names the run, the principal, the
agent, the tools and scopes the run may use and the resource constraint (`owner`); a call token
(for an approved call) also names the tool and the SHA-256 of the exact arguments, and may be
used once. Verification checks, in order: form, key, signature, audience, time, revocation,
binding (run, principal, tenant), tool and scopes, arguments; each failure has its own stable
code.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import threading
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tether.access.canonical import arguments_hash, b64url, b64url_decode, canonical_json
from tether.access.keys import SigningKeyRing
from tether.access.revocation import USED, CachedRevocations, Revocations
from tether.core.clock import Clock, SystemClock
from tether.core.errors import ErrorCode, TetherError
from tether.core.reads import recorded_read
from tether.core.types import Principal

PREFIX = "tct1"
ISSUER = "tether"
RUN_AUDIENCE = "tether:run"
CALL_AUDIENCE = "tether:call"
MAX_TOKEN_CHARS = 16_384
TOKEN_STATUS = "capability.status"  # the source of a token's revocation state, as a kept read
LEEWAY_S = 5.0  # tolerated clock difference for `issued_at` in the future
_CACHE_SIZE = 4096


@dataclass(frozen=True)
class CapabilityClaims:
    """What a token grants. `tool` and `arguments_hash` are set only on call tokens."""

    id: str
    audience: str
    run_id: str
    principal: str
    tenant: str
    agent: str
    tools: tuple[str, ...]
    scopes: tuple[str, ...]
    issued_at: float
    expires_at: float
    key_id: str
    resources: Mapping[str, str] = field(default_factory=dict)
    tool: str | None = None
    arguments_hash: str | None = None

    def payload(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "iss": ISSUER,
            "jti": self.id,
            "aud": self.audience,
            "run": self.run_id,
            "sub": self.principal,
            "ten": self.tenant,
            "agt": self.agent,
            "tools": list(self.tools),
            "scopes": list(self.scopes),
            "res": dict(self.resources),
            "iat": self.issued_at,
            "exp": self.expires_at,
            "kid": self.key_id,
        }
        if self.tool is not None:
            out["tool"] = self.tool
            out["args"] = self.arguments_hash
        return out

    @staticmethod
    def from_payload(data: Any) -> CapabilityClaims:
        """Claims from a decoded payload; TOKEN_INVALID if any field is missing or mistyped."""
        try:
            if not isinstance(data, dict) or data.get("iss") != ISSUER:
                raise ValueError("issuer")
            strings = ("jti", "aud", "run", "sub", "ten", "agt", "kid")
            if not all(isinstance(data[k], str) for k in strings):
                raise ValueError("strings")
            if not all(isinstance(data[k], int | float) for k in ("iat", "exp")):
                raise ValueError("times")
            tools, scopes, res = data["tools"], data["scopes"], data["res"]
            if not (_strings(tools) and _strings(scopes) and isinstance(res, dict)):
                raise ValueError("grants")
            tool, args = data.get("tool"), data.get("args")
            if (tool is None) != (args is None) or not isinstance(tool or "", str):
                raise ValueError("call binding")
            return CapabilityClaims(
                id=data["jti"],
                audience=data["aud"],
                run_id=data["run"],
                principal=data["sub"],
                tenant=data["ten"],
                agent=data["agt"],
                tools=tuple(tools),
                scopes=tuple(scopes),
                issued_at=float(data["iat"]),
                expires_at=float(data["exp"]),
                key_id=data["kid"],
                resources={str(k): str(v) for k, v in res.items()},
                tool=tool,
                arguments_hash=None if args is None else str(args),
            )
        except (KeyError, TypeError, ValueError):
            raise _invalid("the token's claims are malformed") from None

    def facts(self) -> dict[str, Any]:
        """What a step or an audit event may record about the token (never the token)."""
        out: dict[str, Any] = {
            "id": self.id,
            "audience": self.audience,
            "key_id": self.key_id,
            "scopes": list(self.scopes),
            "tools": list(self.tools),
            "resources": dict(self.resources),
            "issued_at": self.issued_at,
            "expires_at": self.expires_at,
        }
        if self.tool is not None:
            out["tool"] = self.tool
            out["arguments_hash"] = self.arguments_hash
        return out


def token_status(revocations: Revocations, token_id: str) -> str | None:
    """Whether a token is revoked or used (None: neither), as a kept read."""
    return recorded_read(TOKEN_STATUS, token_id, lambda: revocations.status(token_id))


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _parts(token: str) -> list[str]:
    """The three dot-separated parts of a token, its prefix checked."""
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        raise _invalid("the token is not in the tct1.<payload>.<signature> form")
    return parts


def _invalid(message: str) -> TetherError:
    return TetherError(ErrorCode.TOKEN_INVALID, message)


class CapabilityTokens:
    """Mints and verifies capability tokens with a key ring and a revocation list."""

    def __init__(
        self,
        keys: SigningKeyRing,
        revocations: Revocations,
        clock: Clock | None = None,
        ttl_s: float = 300.0,
    ) -> None:
        self.keys = keys
        self.revocations = revocations
        self.clock = clock or SystemClock()
        self.ttl_s = ttl_s
        # token text -> claims whose signature verified; every other check runs on every use
        self._verified: dict[str, CapabilityClaims] = {}
        # token text -> the key object its signature verified under: Ed25519 verification is
        # deterministic, so the same bytes under the same key give the same answer; a key
        # that changed (rotated, re-pinned, replaced) is consulted again
        self._verified_by: dict[str, Ed25519PublicKey] = {}
        self._lock = threading.Lock()

    # -- minting ------------------------------------------------------------------------

    def mint_run(
        self,
        run_id: str,
        principal: Principal,
        agent: str,
        tools: Collection[str],
        scopes: Collection[str],
        ttl_s: float | None = None,
    ) -> tuple[str, CapabilityClaims]:
        """A token for one run: the tools and scopes it may use, on the principal's resources."""
        return self._mint(RUN_AUDIENCE, run_id, principal, agent, tools, scopes, ttl_s)

    def mint_call(
        self,
        run_id: str,
        principal: Principal,
        agent: str,
        tool: str,
        arguments: Mapping[str, Any],
        scopes: Collection[str],
        ttl_s: float | None = None,
        token_id: str | None = None,
    ) -> tuple[str, CapabilityClaims]:
        """A single-use token for one approved call, bound to the hash of its exact arguments.
        `token_id` fixes the token's id (e.g. one per approval, so minting again for the same
        approval yields the same identity, which can be used only once)."""
        binding = (tool, arguments_hash(tool, arguments))
        return self._mint(
            CALL_AUDIENCE, run_id, principal, agent, (tool,), scopes, ttl_s, binding, token_id
        )

    def reissue(
        self,
        run_id: str,
        principal: Principal,
        agent: str,
        tools: Collection[str],
        scopes: Collection[str],
        *,
        token_id: str,
        issued_at: float,
        expires_at: float,
    ) -> tuple[str, CapabilityClaims]:
        """A run token under a recorded token's identity and lifetime, signed with the active
        key: what a replay checks with (the id is the recorded one, so a revocation of that
        token covers this one too)."""
        lifetime = (issued_at, expires_at)
        return self._mint(
            RUN_AUDIENCE, run_id, principal, agent, tools, scopes, None, None, token_id, lifetime
        )

    def _signed(self, claims: CapabilityClaims) -> tuple[str, CapabilityClaims]:
        """The token of `claims`, signed by their key (the active one), remembered as verified."""
        body = PREFIX + "." + b64url(canonical_json(claims.payload()).encode("utf-8"))
        signed_kid, signature = self.keys.sign(body.encode("ascii"))
        if signed_kid != claims.key_id:  # the key rotated meanwhile: sign again, consistently
            return self._signed(dataclasses.replace(claims, key_id=signed_kid))
        token = body + "." + b64url(signature)
        # signed just now by the active key: as good as verified, and under the pinned key that
        # is its public half, if that is the one accepted now (execution verifies under any other)
        self._remember(token, claims, self.keys.signed_by(signed_kid))
        return token, claims

    def _mint(
        self,
        audience: str,
        run_id: str,
        principal: Principal,
        agent: str,
        tools: Collection[str],
        scopes: Collection[str],
        ttl_s: float | None,
        binding: tuple[str, str] | None = None,
        token_id: str | None = None,
        lifetime: tuple[float, float] | None = None,  # (issued_at, expires_at) as recorded
    ) -> tuple[str, CapabilityClaims]:
        now = self.clock.now()
        issued_at, expires_at = lifetime or (round(now, 3), round(now + (ttl_s or self.ttl_s), 3))
        kid = self.keys.active_kid()
        claims = CapabilityClaims(
            id=token_id or "tok_" + secrets.token_hex(12),
            audience=audience,
            run_id=run_id,
            principal=principal.id,
            tenant=principal.tenant,
            agent=agent,
            tools=tuple(sorted(set(tools))),
            scopes=tuple(sorted(set(scopes))),
            issued_at=issued_at,
            expires_at=expires_at,
            key_id=kid,
            resources={"owner": principal.id},
            tool=binding[0] if binding else None,
            arguments_hash=binding[1] if binding else None,
        )
        token, claims = self._signed(claims)
        if isinstance(self.revocations, CachedRevocations) and token_id is None:
            self.revocations.issued(claims.id)
        return token, claims

    # -- verification -------------------------------------------------------------------

    def verify(
        self,
        token: str,
        *,
        audience: str,
        run_id: str | None = None,
        principal: str | None = None,
        tool: str | None = None,
        required_scopes: Collection[str] = (),
        arguments: Mapping[str, Any] | None = None,
        consume: bool = False,
        tenant: str | None = None,
        fresh: bool = False,
        at: float | None = None,
    ) -> CapabilityClaims:
        """The token's claims if it grants this use at `at` (default: now); else a TetherError
        with its code. `fresh` checks the signature against the key accepted now even if the
        claims are cached (for the moment of execution, which trusts nothing but the key); only
        the same signature under that very key is not computed twice. Its revocation state is a
        read a guard step keeps (`tether.core.reads`), so a replay sees the recorded one."""
        claims = self.decode(token, cached=not fresh)
        if claims.audience != audience:
            raise TetherError(
                ErrorCode.TOKEN_WRONG_AUDIENCE,
                f"the token is for {claims.audience!r}, not {audience!r}",
            )
        now = self.clock.now() if at is None else at
        if now >= claims.expires_at:
            raise TetherError(ErrorCode.TOKEN_EXPIRED, f"the token {claims.id} has expired")
        if claims.issued_at > now + LEEWAY_S:
            raise _invalid("the token is issued in the future")
        status = token_status(self.revocations, claims.id)
        if status is not None:
            code = ErrorCode.TOKEN_REPLAYED if status == USED else ErrorCode.TOKEN_REVOKED
            raise TetherError(code, f"the token {claims.id} was {status}")
        if run_id is not None and claims.run_id != run_id:
            raise TetherError(ErrorCode.TOKEN_WRONG_AUDIENCE, "the token is for another run")
        if principal is not None and claims.principal != principal:
            raise TetherError(ErrorCode.TOKEN_WRONG_AUDIENCE, "the token is for another principal")
        if tenant is not None and claims.tenant != tenant:
            raise TetherError(ErrorCode.TOKEN_WRONG_AUDIENCE, "the token is for another tenant")
        if tool is not None and tool not in claims.tools:
            raise TetherError(
                ErrorCode.SCOPE_NOT_GRANTED, f"the run's capability does not include {tool!r}"
            )
        missing = sorted({s for s in required_scopes if s not in claims.scopes})
        if missing:
            raise TetherError(
                ErrorCode.SCOPE_NOT_GRANTED,
                f"the run's capability lacks the scopes {', '.join(missing)}",
            )
        bound = claims.arguments_hash
        if bound is not None and (
            arguments is None or arguments_hash(claims.tool or "", arguments) != bound
        ):
            raise TetherError(
                ErrorCode.ARGUMENTS_NOT_APPROVED,
                "the call's arguments differ from the approved ones",
            )
        if consume and not self.revocations.consume(claims.id, claims.expires_at):
            raise TetherError(ErrorCode.TOKEN_REPLAYED, f"the token {claims.id} was already used")
        return claims

    def decode(self, token: str, cached: bool = True) -> CapabilityClaims:
        """The claims of a token whose signature verifies with an accepted key; with `cached`,
        a token whose signature verified before (or that was minted here) is not verified
        again; without, the key accepted now is consulted unless it verified it already."""
        if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS:
            raise _invalid("the token is not a token")
        known = self._verified.get(token)
        if cached and known is not None and self.keys.verification_key(known.key_id) is not None:
            return known
        parts: list[str] | None = None
        signature: bytes | None = None
        if known is None:  # claims depend on the token's text alone: parsed once
            parts = _parts(token)
            try:
                payload = json.loads(b64url_decode(parts[1]))
                signature = b64url_decode(parts[2])
            except (ValueError, UnicodeDecodeError):
                raise _invalid("the token is not valid base64url JSON") from None
        claims = known if known is not None else CapabilityClaims.from_payload(payload)
        key = self.keys.verification_key(claims.key_id)
        if key is None:
            raise _invalid(f"the token is signed by an unknown or retired key {claims.key_id!r}")
        if self._verified_by.get(token) is not key:  # unless this very key verified it already
            if parts is None or signature is None:  # a token known here: its form was checked
                parts = _parts(token)
                signature = b64url_decode(parts[2])
            try:
                key.verify(signature, (parts[0] + "." + parts[1]).encode("ascii"))
            except InvalidSignature:
                raise _invalid("the token's signature does not verify") from None
            self._remember(token, claims, key)
        elif known is None:
            self._remember(token, claims)
        return claims

    def _remember(
        self, token: str, claims: CapabilityClaims, key: Ed25519PublicKey | None = None
    ) -> None:
        with self._lock:
            if len(self._verified) >= _CACHE_SIZE:
                self._verified.clear()
            if len(self._verified_by) >= _CACHE_SIZE:
                self._verified_by.clear()
            self._verified[token] = claims
            if key is not None:
                self._verified_by[token] = key

    def revoke(self, claims: CapabilityClaims, reason: str = "revoked") -> None:
        """Refuse this token from now on (until it would have expired)."""
        self.revocations.revoke(claims.id, claims.expires_at, reason)
