"""End-user tokens: the customer's own application vouches for who the customer is.

The application signs a short-lived JWT for its signed-in customer and sends it beside its
operator key, in the `X-End-User-Token` header. `sub` names the principal; `aud` must be the
audience this server is configured with; `exp` is required; `iss` is checked when an issuer is
configured. Keys come from a JSON file, each with its id and its one algorithm, so a token can
never pick the algorithm its key is checked with:

    {"keys": [{"kid": "app-2025", "alg": "EdDSA", "key": "-----BEGIN PUBLIC KEY-----\\n..."}]}

`HS256` keys are shared secrets of at least 32 bytes; `EdDSA`, `RS256` (2048 bits or more) and
`ES256` (P-256) keys are PEM public keys. Every failure is END_USER_TOKEN_INVALID (401).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeGuard

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from tether.core.clock import Clock, SystemClock
from tether.core.errors import ErrorCode, TetherError
from tether.core.shapes import unstorable

ALGORITHMS = ("HS256", "EdDSA", "RS256", "ES256")
MIN_SECRET_BYTES = 32
MIN_RSA_BITS = 2048
MAX_TOKEN_CHARS = 8_192
MAX_TIME = 253_402_300_799  # 9999-12-31T23:59:59Z: later is no date a token means
MAX_SUBJECT_CHARS = 200
LEEWAY_S = 30.0  # tolerated difference between the application's clock and ours

ENV_KEYS = "TETHER_END_USER_KEYS"
ENV_AUDIENCE = "TETHER_END_USER_AUDIENCE"
ENV_ISSUER = "TETHER_END_USER_ISSUER"


@dataclass(frozen=True)
class EndUserKey:
    """One key the customer's application signs with: its id, its algorithm and the key
    (the shared secret, or the loaded public key)."""

    kid: str
    alg: str
    key: Any


@dataclass(frozen=True)
class EndUser:
    """A customer whose token verified: the principal, and who vouched for it."""

    principal_id: str
    issuer: str
    key_id: str

    @property
    def asserted_by(self) -> str:
        """How a conversation records who asserted its principal."""
        return f"end_user:{self.issuer or self.key_id}"


def _invalid(message: str) -> TetherError:
    return TetherError(ErrorCode.END_USER_TOKEN_INVALID, message)


def _config(message: str) -> TetherError:
    return TetherError(ErrorCode.CONFIG_INVALID, f"{ENV_KEYS}: {message}")


def parse_key(entry: Any, index: int) -> EndUserKey:
    """One entry of the key file, checked: CONFIG_INVALID names the entry and the problem."""
    if not isinstance(entry, Mapping):
        raise _config(f"key {index + 1} is not an object")
    kid, alg, material = entry.get("kid"), entry.get("alg"), entry.get("key")
    if not isinstance(kid, str) or not kid.strip():
        raise _config(f"key {index + 1} needs a non-empty string kid")
    if alg not in ALGORITHMS:
        raise _config(f"key {kid!r}: alg must be one of {', '.join(ALGORITHMS)}, not {alg!r}")
    if not isinstance(material, str) or not material.strip():
        raise _config(f"key {kid!r} needs the key as a string")
    if alg == "HS256":
        if len(material.encode("utf-8")) < MIN_SECRET_BYTES:
            raise _config(f"key {kid!r}: an HS256 secret needs {MIN_SECRET_BYTES} bytes or more")
        return EndUserKey(kid, alg, material.encode("utf-8"))
    try:
        public = load_pem_public_key(material.encode("ascii"))
    except (ValueError, TypeError, UnicodeEncodeError):
        raise _config(f"key {kid!r}: an {alg} key must be a PEM public key") from None
    fits = {
        "EdDSA": isinstance(public, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey),
        "RS256": isinstance(public, rsa.RSAPublicKey) and public.key_size >= MIN_RSA_BITS,
        "ES256": isinstance(public, ec.EllipticCurvePublicKey)
        and isinstance(public.curve, ec.SECP256R1),
    }[alg]
    if not fits:
        raise _config(f"key {kid!r} is not a usable {alg} public key")
    return EndUserKey(kid, alg, public)


def load_keys(path: Path) -> list[EndUserKey]:
    """The keys of a key file `{"keys": [{"kid", "alg", "key"}, ...]}`."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise _config(f"cannot read {path}: {type(exc).__name__}") from None
    except json.JSONDecodeError as exc:
        raise _config(f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    except RecursionError:  # nested past what the JSON parser can descend
        raise _config(f"{path} is not valid JSON: nested too deep to parse") from None
    entries = data.get("keys") if isinstance(data, Mapping) else None
    if not isinstance(entries, list) or not entries:
        raise _config(f'{path} needs {{"keys": [...]}} with at least one key')
    keys = [parse_key(entry, i) for i, entry in enumerate(entries)]
    kids = [k.kid for k in keys]
    if len(set(kids)) != len(kids):
        raise _config(f"{path} names a kid more than once")
    return keys


class EndUserVerifier:
    """Verifies end-user tokens against the configured keys, audience and issuer."""

    def __init__(
        self,
        keys: Sequence[EndUserKey],
        audience: str,
        issuer: str | None = None,
        clock: Clock | None = None,
        leeway_s: float = LEEWAY_S,
    ) -> None:
        if not keys:
            raise _config("at least one key is needed")
        if not audience.strip():
            raise TetherError(ErrorCode.CONFIG_INVALID, f"{ENV_AUDIENCE} must be set")
        self.keys = {k.kid: k for k in keys}
        self.audience = audience
        self.issuer = issuer or None
        self.clock = clock or SystemClock()
        self.leeway_s = leeway_s

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, clock: Clock | None = None
    ) -> EndUserVerifier | None:
        """The verifier TETHER_END_USER_KEYS / _AUDIENCE / _ISSUER configure; None when no key
        file is set (then only operators with `principals:act_as` can name a customer)."""
        env = os.environ if environ is None else environ
        path = env.get(ENV_KEYS, "").strip()
        if not path:
            return None
        audience = env.get(ENV_AUDIENCE, "").strip()
        if not audience:
            raise TetherError(
                ErrorCode.CONFIG_INVALID, f"{ENV_KEYS} is set, so {ENV_AUDIENCE} must be too"
            )
        issuer = env.get(ENV_ISSUER, "").strip() or None
        return cls(load_keys(Path(path).expanduser()), audience, issuer, clock)

    def verify(self, token: str) -> EndUser:
        """The customer a token names; END_USER_TOKEN_INVALID saying why otherwise."""
        token = token.strip()
        if not token or len(token) > MAX_TOKEN_CHARS:
            raise _invalid("the end-user token is empty or too long")
        key = self._key_for(token)
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[key.alg],
                audience=self.audience,
                issuer=self.issuer,
                # time is checked below, on the injected clock
                options={
                    "require": ["exp", "sub"],
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.InvalidSignatureError:
            raise _invalid("the end-user token's signature does not verify") from None
        except jwt.InvalidAudienceError:
            raise _invalid("the end-user token is for another audience") from None
        except jwt.InvalidIssuerError:
            raise _invalid("the end-user token is from another issuer") from None
        except jwt.MissingRequiredClaimError as exc:
            raise _invalid(f"the end-user token lacks the {exc.claim!r} claim") from None
        except jwt.PyJWTError as exc:
            raise _invalid(f"the end-user token is not valid: {type(exc).__name__}") from None
        self._check_time(claims)
        subject = claims.get("sub")
        if not isinstance(subject, str) or not 0 < len(subject) <= MAX_SUBJECT_CHARS:
            raise _invalid("the end-user token's sub must name a principal")
        if unstorable(subject) is not None:
            raise _invalid("the end-user token's sub holds a NUL or a lone surrogate character")
        issuer = claims.get("iss")
        return EndUser(subject, issuer if isinstance(issuer, str) else "", key.kid)

    def _key_for(self, token: str) -> EndUserKey:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise _invalid("the end-user token is not a JWT") from None
        kid = header.get("kid")
        if kid is None and len(self.keys) == 1:
            key = next(iter(self.keys.values()))
        elif isinstance(kid, str) and kid in self.keys:
            key = self.keys[kid]
        else:
            raise _invalid("the end-user token names no configured key (kid)")
        if header.get("alg") != key.alg:
            raise _invalid(f"key {key.kid!r} signs with {key.alg}, not {header.get('alg')!r}")
        return key

    def _check_time(self, claims: Mapping[str, Any]) -> None:
        now = self.clock.now()
        exp, nbf = claims.get("exp"), claims.get("nbf")
        if not _is_time(exp):
            raise _invalid("the end-user token's exp is not a time")
        if now > exp + self.leeway_s:
            raise _invalid("the end-user token has expired")
        if nbf is not None and (not _is_time(nbf) or now + self.leeway_s < nbf):
            raise _invalid("the end-user token is not valid yet")


def _is_time(value: Any) -> TypeGuard[int | float]:
    """Seconds since the epoch up to the end of year 9999: not a boolean, not NaN (it compares
    false with every moment), not Infinity nor an integer too large for a date (such an `exp`
    would never pass)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    return (isinstance(value, int) or math.isfinite(value)) and abs(value) <= MAX_TIME
