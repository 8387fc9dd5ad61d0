"""Capability tokens: mint, verify, and every way a token is refused, each with its code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import redis
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from tests.access.conftest import open_access
from tether.access.canonical import b64url, b64url_decode, canonical_json
from tether.access.control import AccessControl
from tether.access.keys import SigningKeyRing
from tether.access.revocation import (
    KEPT_PAST_EXPIRY_S,
    PURGE_EVERY,
    RedisRevocations,
    StoreRevocations,
)
from tether.access.settings import MAX_TOKEN_TTL_S, AccessSettings, AuditPaths
from tether.access.tokens import CALL_AUDIENCE, RUN_AUDIENCE, CapabilityTokens
from tether.core.clock import ManualClock
from tether.core.errors import ErrorCode, TetherError
from tether.core.types import Principal
from tether.store.access_schema import revoked_tokens, signing_keys
from tether.store.runs import RunStore

RAJ = Principal("raj_sanchez_2970", "retail", ("customer",))
TOOLS = ("get_order_details", "cancel_pending_order")
SCOPES = ("retail:read", "retail:write")


def mint(access: AccessControl, run_id: str = "run_1") -> str:
    token, _ = access.tokens.mint_run(run_id, RAJ, "retail-desk", TOOLS, SCOPES)
    return token


def refused(access: AccessControl, token: str, **kwargs: object) -> ErrorCode:
    args: dict[str, object] = {"audience": RUN_AUDIENCE, **kwargs}
    with pytest.raises(TetherError) as caught:
        access.tokens.verify(token, **args)  # type: ignore[arg-type]
    return caught.value.code


def test_a_minted_token_verifies_and_carries_its_grant(
    sqlite_store: RunStore, clock: ManualClock
) -> None:
    access = open_access(sqlite_store, clock)
    token, claims = access.tokens.mint_run("run_1", RAJ, "retail-desk", TOOLS, SCOPES)
    got = access.tokens.verify(
        token,
        audience=RUN_AUDIENCE,
        run_id="run_1",
        principal=RAJ.id,
        tool="cancel_pending_order",
        required_scopes=("retail:write",),
    )
    assert got == claims
    assert got.scopes == SCOPES and got.tools == tuple(sorted(TOOLS))
    assert got.resources == {"owner": RAJ.id}
    assert got.expires_at - got.issued_at == pytest.approx(300)
    facts = json.dumps(got.facts())
    assert token not in facts and token.split(".")[2] not in facts


def test_a_forged_signature_is_refused(sqlite_store: RunStore) -> None:
    access = open_access(sqlite_store)
    prefix, payload, signature = mint(access).split(".")
    claims = json.loads(b64url_decode(payload))
    claims["scopes"] = [*claims["scopes"], "retail:admin"]  # escalate, keep the signature
    forged = ".".join([prefix, b64url(canonical_json(claims).encode()), signature])
    assert refused(access, forged) is ErrorCode.TOKEN_INVALID
    # a token signed by somebody else's key that names ours is refused too
    other = Ed25519PrivateKey.generate()
    body = prefix + "." + payload
    assert (
        refused(access, body + "." + b64url(other.sign(body.encode()))) is ErrorCode.TOKEN_INVALID
    )


@pytest.mark.parametrize(
    "token",
    ["", "garbage", "tct1.x.y", "tct1..", "jwt.a.b", "tct1." + "A" * 20000 + ".x", "tct1.e30.e30"],
)
def test_malformed_tokens_are_refused(sqlite_store: RunStore, token: str) -> None:
    access = open_access(sqlite_store)
    mint(access)  # a key exists
    assert refused(access, token) is ErrorCode.TOKEN_INVALID


def test_an_expired_token_is_refused(sqlite_store: RunStore, clock: ManualClock) -> None:
    access = open_access(sqlite_store, clock)
    token = mint(access)
    clock.advance(299)
    access.tokens.verify(token, audience=RUN_AUDIENCE)
    clock.advance(1)
    assert refused(access, token) is ErrorCode.TOKEN_EXPIRED


class _Rejects:
    """A verification key under which no signature verifies."""

    def verify(self, signature: bytes, data: bytes) -> None:
        raise InvalidSignature


def test_a_fresh_check_verifies_again_what_the_cache_holds(
    sqlite_store: RunStore, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    access = open_access(sqlite_store, clock)
    token = mint(access)
    tokens = access.tokens
    tokens.verify(token, audience=RUN_AUDIENCE)  # the guard chain's check: now cached
    tokens.verify(token, audience=RUN_AUDIENCE, fresh=True)
    # the claims are remembered, the signature is not: a key that rejects it is consulted
    with monkeypatch.context() as patch:
        patch.setattr(tokens.keys, "verification_key", lambda kid: _Rejects())
        tokens.verify(token, audience=RUN_AUDIENCE)
        assert refused(access, token, fresh=True) is ErrorCode.TOKEN_INVALID
    # expiry and revocation between the chain's check and execution are seen at execution
    clock.advance(300)
    assert refused(access, token, fresh=True) is ErrorCode.TOKEN_EXPIRED
    other = mint(access, "run_2")
    tokens.verify(other, audience=RUN_AUDIENCE)
    tokens.revoke(tokens.decode(other))
    assert refused(access, other, fresh=True) is ErrorCode.TOKEN_REVOKED
    # a forged twin of a cached token is verified on its own, never taken for the cached one
    prefix, payload, signature = other.split(".")
    twin = ".".join([prefix, payload, signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")])
    assert refused(access, twin, fresh=True) is ErrorCode.TOKEN_INVALID
    assert refused(access, twin) is ErrorCode.TOKEN_INVALID


class _Counting:
    """A verification key that counts the signatures it checks."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.calls = inner, 0

    def verify(self, signature: bytes, data: bytes) -> None:
        self.calls += 1
        self.inner.verify(signature, data)


def test_a_fresh_check_computes_a_signature_once_per_key_object(
    sqlite_store: RunStore, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    access = open_access(sqlite_store, clock)
    token = mint(access)
    tokens = access.tokens
    pinned = tokens.keys.verification_key(tokens.decode(token).key_id)
    first = _Counting(pinned)
    monkeypatch.setattr(tokens.keys, "verification_key", lambda kid: first)
    for _ in range(3):  # the execution of each call of a run
        tokens.verify(token, audience=RUN_AUDIENCE, fresh=True)
    assert first.calls == 1  # minted here, so checked at the first execution; then reused
    second = _Counting(pinned)  # the same key bytes, another key object: consulted again
    monkeypatch.setattr(tokens.keys, "verification_key", lambda kid: second)
    tokens.verify(token, audience=RUN_AUDIENCE, fresh=True)
    assert second.calls == 1
    monkeypatch.setattr(tokens.keys, "verification_key", lambda kid: _Rejects())
    assert refused(access, token, fresh=True) is ErrorCode.TOKEN_INVALID
    # what verified before under a key never vouches for a forged twin of the token
    monkeypatch.setattr(tokens.keys, "verification_key", lambda kid: first)
    prefix, payload, signature = token.split(".")
    twin = ".".join([prefix, payload, signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")])
    assert refused(access, twin, fresh=True) is ErrorCode.TOKEN_INVALID


class _Pinned(_Counting):
    """A pinned key as the key ring hands it out, counting the signatures it checks."""

    def public_bytes_raw(self) -> bytes:
        return bytes(self.inner.public_bytes_raw())


def test_a_token_minted_here_skips_verification_only_under_its_signers_public_half(
    sqlite_store: RunStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A signature verifies under the public half of the key that made it, so a token minted
    here is not verified again at execution under that key; a trust file that pins other bytes
    under the signer's id (tampered, or replaced) gets no such shortcut and refuses it."""
    access = open_access(sqlite_store)
    tokens = access.tokens
    kid = tokens.keys.active_kid()
    own = _Pinned(tokens.keys.verification_key(kid))
    monkeypatch.setattr(tokens.keys, "verification_key", lambda _kid: own)
    token = mint(access)
    for _ in range(3):  # the execution of each call of a run
        tokens.verify(token, audience=RUN_AUDIENCE, fresh=True)
    assert own.calls == 0

    stranger = _Pinned(Ed25519PrivateKey.generate().public_key())
    monkeypatch.setattr(tokens.keys, "verification_key", lambda _kid: stranger)
    forged_pin = mint(access, "run_2")  # minted while the pin is not the signer's public half
    assert refused(access, forged_pin, fresh=True) is ErrorCode.TOKEN_INVALID
    assert stranger.calls == 1
    monkeypatch.setattr(tokens.keys, "verification_key", lambda _kid: own)
    tokens.verify(forged_pin, audience=RUN_AUDIENCE, fresh=True)  # verified, under its own
    assert own.calls == 1


def test_wrong_audience_run_or_principal_is_refused(sqlite_store: RunStore) -> None:
    access = open_access(sqlite_store)
    token = mint(access, "run_1")
    call_token, _ = access.tokens.mint_call(
        "run_1", RAJ, "retail-desk", "get_order_details", {"order_id": "#W1"}, SCOPES
    )
    assert refused(access, call_token) is ErrorCode.TOKEN_WRONG_AUDIENCE
    assert refused(access, token, audience=CALL_AUDIENCE) is ErrorCode.TOKEN_WRONG_AUDIENCE
    assert refused(access, token, run_id="run_2") is ErrorCode.TOKEN_WRONG_AUDIENCE
    assert refused(access, token, principal="someone_else") is ErrorCode.TOKEN_WRONG_AUDIENCE


def test_tools_and_scopes_outside_the_grant_are_refused(sqlite_store: RunStore) -> None:
    access = open_access(sqlite_store)
    token, _ = access.tokens.mint_run(
        "r", RAJ, "retail-desk", ("get_order_details",), ("retail:read",)
    )
    assert refused(access, token, tool="cancel_pending_order") is ErrorCode.SCOPE_NOT_GRANTED
    code = refused(access, token, tool="get_order_details", required_scopes=("retail:write",))
    assert code is ErrorCode.SCOPE_NOT_GRANTED


def test_revocation_is_seen_by_another_instance(store: RunStore) -> None:
    first, second = open_access(store), open_access(store)
    token = mint(first)
    second.tokens.verify(token, audience=RUN_AUDIENCE)
    claims = first.tokens.decode(token)
    first.tokens.revoke(claims)
    assert refused(first, token) is ErrorCode.TOKEN_REVOKED
    assert refused(second, token) is ErrorCode.TOKEN_REVOKED


def test_the_revocation_cache_bounds_how_late_a_revocation_is_seen(
    sqlite_store: RunStore,
) -> None:
    issuer = open_access(sqlite_store, revocation_cache_s=0.3)
    other = open_access(sqlite_store)
    token = mint(issuer)
    issuer.tokens.verify(token, audience=RUN_AUDIENCE)
    other.tokens.revoke(other.tokens.decode(token))
    time.sleep(0.35)
    assert refused(issuer, token) is ErrorCode.TOKEN_REVOKED


def test_a_call_token_is_bound_to_its_exact_arguments_and_used_once(store: RunStore) -> None:
    access = open_access(store)
    arguments = {"order_id": "#W4566809", "reason": "no longer needed"}
    token, claims = access.tokens.mint_call(
        "run_1", RAJ, "retail-desk", "cancel_pending_order", arguments, SCOPES
    )
    assert claims.arguments_hash and len(claims.arguments_hash) == 64
    kwargs = {"audience": CALL_AUDIENCE, "tool": "cancel_pending_order"}
    changed = {**arguments, "order_id": "#W0000000"}
    assert refused(access, token, arguments=changed, **kwargs) is ErrorCode.ARGUMENTS_NOT_APPROVED
    assert refused(access, token, **kwargs) is ErrorCode.ARGUMENTS_NOT_APPROVED
    reordered = {"reason": "no longer needed", "order_id": "#W4566809"}
    access.tokens.verify(token, arguments=reordered, consume=True, **kwargs)  # type: ignore[arg-type]
    code = refused(access, token, arguments=arguments, consume=True, **kwargs)
    assert code is ErrorCode.TOKEN_REPLAYED
    # a second instance (another replica) sees the token as used too
    assert (
        refused(open_access(store), token, arguments=arguments, **kwargs)
        is ErrorCode.TOKEN_REPLAYED
    )


def test_a_rotated_key_verifies_for_one_ttl_past_the_refresh_window_then_not(
    sqlite_store: RunStore,
) -> None:
    clock = ManualClock(start=1_800_000_000.0)
    settings = AccessSettings(token_ttl_s=60, revocation_cache_s=0)
    access = AccessControl.open(sqlite_store.engine, settings=settings, clock=clock)
    ring = SigningKeyRing(sqlite_store.engine, settings, clock, access.audit)
    tokens = CapabilityTokens(ring, access.revocations, clock, ttl_s=60)
    old, _ = tokens.mint_run("r", RAJ, "a", TOOLS, SCOPES)
    old_kid = tokens.decode(old).key_id
    ring.rotate(actor="tests")
    new, _ = tokens.mint_run("r", RAJ, "a", TOOLS, SCOPES)
    assert tokens.decode(new).key_id != old_kid
    clock.advance(30)
    tokens.verify(old, audience=RUN_AUDIENCE)  # the previous key is still accepted
    # one TTL past the last moment a replica that had not noticed the rotation could mint
    assert ring.token_grace_s == 60 + ring.refresh_s
    clock.advance(30 + ring.refresh_s)
    assert ring.verification_key(old_kid) is not None
    clock.advance(1)
    assert ring.verification_key(old_kid) is None  # ...but not after that
    assert ring.history_key(old_kid) is not None  # checkpoints it signed stay checkable
    statuses = {k.kid: k.status(clock.now(), ring.token_grace_s) for k in ring.list_keys()}
    assert statuses[old_kid] == "retired" and list(statuses.values()).count("active") == 1


def test_the_signing_key_rotates_by_itself_when_it_is_old(sqlite_store: RunStore) -> None:
    clock = ManualClock(start=1_800_000_000.0)
    settings = AccessSettings(token_ttl_s=60, key_max_age_s=3600)
    ring = SigningKeyRing(sqlite_store.engine, settings, clock)
    first = ring.active_kid()
    clock.advance(1800)
    assert ring.active_kid() == first
    clock.advance(1801)
    assert ring.active_kid() != first
    assert len(ring.list_keys()) == 2


def test_private_keys_are_encrypted_at_rest_with_a_passphrase(sqlite_store: RunStore) -> None:
    locked = AccessSettings(key_passphrase=b"correct horse battery staple")
    access = AccessControl.open(sqlite_store.engine, settings=locked)
    token = mint(access)
    with sqlite_store.engine.connect() as conn:
        assert conn.execute(select(signing_keys.c.private_key)).scalars().all() == []
    key_file = AuditPaths.resolve(sqlite_store.engine.url, locked).key_file
    assert "ENCRYPTED PRIVATE KEY" in key_file.read_text()  # the key lives outside, encrypted
    # verifying needs only the public half: no passphrase
    plain = open_access(sqlite_store)
    plain.tokens.verify(token, audience=RUN_AUDIENCE)
    # signing without the passphrase is a configuration error, not a crash
    with pytest.raises(TetherError) as caught:
        mint(plain)
    assert caught.value.code is ErrorCode.CONFIG_INVALID
    wrong = AccessControl.open(
        sqlite_store.engine, settings=AccessSettings(key_passphrase=b"wrong")
    )
    with pytest.raises(TetherError) as caught:
        mint(wrong)
    assert caught.value.code is ErrorCode.CONFIG_INVALID


def test_key_listings_never_show_a_private_key(sqlite_store: RunStore) -> None:
    access = open_access(sqlite_store)
    mint(access)
    listed = json.dumps([k.to_dict(time.time(), 300) for k in access.keys.list_keys()])
    assert "PRIVATE" not in listed and "private" not in listed


@pytest.mark.redis
def test_revocations_and_single_use_in_redis(sqlite_store: RunStore, redis_url: str) -> None:
    first = open_access(sqlite_store, redis_url=redis_url)
    second = open_access(sqlite_store, redis_url=redis_url)
    assert isinstance(first.revocations.inner, RedisRevocations)  # type: ignore[attr-defined]
    token = mint(first)
    second.tokens.verify(token, audience=RUN_AUDIENCE)
    first.tokens.revoke(first.tokens.decode(token))
    assert refused(second, token) is ErrorCode.TOKEN_REVOKED
    call, _ = first.tokens.mint_call(
        "r", RAJ, "a", "get_order_details", {"order_id": "#W1"}, SCOPES
    )
    kwargs = {"audience": CALL_AUDIENCE, "arguments": {"order_id": "#W1"}, "consume": True}
    second.tokens.verify(call, **kwargs)  # type: ignore[arg-type]
    assert refused(first, call, **kwargs) is ErrorCode.TOKEN_REPLAYED


def test_revocation_keys_live_under_the_configured_prefix(
    sqlite_store: RunStore, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = f"t{uuid.uuid4().hex[:10]}:"
    monkeypatch.setenv("TETHER_REDIS_PREFIX", prefix)
    access = open_access(sqlite_store, redis_url=redis_url)
    token = mint(access)
    decoded = access.tokens.decode(token)
    access.tokens.revoke(decoded)
    assert refused(access, token) is ErrorCode.TOKEN_REVOKED
    client = redis.Redis.from_url(redis_url)
    try:
        keys = [k.decode() for k in client.scan_iter(match=f"*{decoded.id}*")]
        assert keys == [f"{prefix}revoked:{decoded.id}"]  # and nothing outside the prefix
    finally:
        client.delete(*keys)
        client.close()


def test_an_unreachable_redis_fails_closed(sqlite_store: RunStore) -> None:
    access = open_access(sqlite_store, redis_url="redis://127.0.0.1:1/0")
    token = mint(access)
    assert refused(access, token) is ErrorCode.STORE_UNAVAILABLE


def test_a_revocation_outlives_its_token_by_the_clock_skew_margin(store: RunStore) -> None:
    """Purging keeps an entry KEPT_PAST_EXPIRY_S past its token's expiry: a replica whose clock
    runs that far behind still takes the token for live, and must still find it revoked."""
    clock = ManualClock(start=1_800_000_000.0)
    revocations = StoreRevocations(store.engine, clock)
    revocations.revoke("tok_recent", clock.now() - KEPT_PAST_EXPIRY_S + 5)
    revocations.revoke("tok_long_gone", clock.now() - KEPT_PAST_EXPIRY_S - 5)
    for n in range(PURGE_EVERY):  # the writes that bring a purge about
        revocations.revoke(f"tok_filler_{n}", clock.now() + 300)
    assert revocations.status("tok_recent") == "revoked"
    assert revocations.status("tok_long_gone") is None


def test_the_cli_revokes_for_the_longest_any_process_may_mint(store: RunStore) -> None:
    """`tether tokens revoke` knows nothing of the token: the entry lasts as long as the
    longest TETHER_TOKEN_TTL any process may run with, not its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TETHER_")}
    env.update(
        TETHER_DATABASE_URL=str(store.engine.url.render_as_string(hide_password=False)),
        TETHER_HOME=os.environ["TETHER_HOME"],
        TETHER_TOKEN_TTL="60",
    )
    tether = str(Path(sys.executable).parent / "tether")
    done = subprocess.run(
        [tether, "tokens", "revoke", "tok_from_elsewhere"], env=env, capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    with store.engine.connect() as conn:
        until = conn.execute(
            select(revoked_tokens.c.expires_at).where(revoked_tokens.c.jti == "tok_from_elsewhere")
        ).scalar_one()
    assert until >= time.time() + MAX_TOKEN_TTL_S - 60
