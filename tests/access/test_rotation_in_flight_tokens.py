"""After a rotation the previous key verifies tokens "so tokens in flight stay valid".
Replicas share the key file and trust file, but a replica may go on minting with the key
another replica just retired until it notices (the trust file is re-read at most once a
second, the key file at least every `refresh_s`). A retired key therefore verifies tokens for
one TTL past `refresh_s` after its retirement, so every token a replica minted lives its whole
lifetime, and not a moment more than that."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tether.access.audit import AuditLog
from tether.access.keys import SigningKeyRing
from tether.access.revocation import StoreRevocations
from tether.access.settings import AccessSettings
from tether.access.tokens import RUN_AUDIENCE, CapabilityTokens
from tether.core.clock import ManualClock
from tether.core.errors import TetherError
from tether.core.types import Principal
from tether.store.db import create_store_engine, migrate


def test_a_token_minted_under_a_just_retired_key_lives_its_whole_ttl(tmp_path: Path) -> None:
    engine = create_store_engine(f"sqlite:///{tmp_path}/store.db")
    migrate(engine)
    clock = ManualClock(start=1_900_000_000.0)
    settings = AccessSettings()  # token TTL 300 s
    audit = AuditLog(engine, clock=clock)

    def replica() -> SigningKeyRing:
        return SigningKeyRing(engine, settings, clock, audit=audit)

    a, b = replica(), replica()
    first = b.active_kid()  # replica B makes the key and signs with it
    assert a.active_kid() == first

    clock.advance(1)
    a.rotate()  # replica A rotates: the first key is retired now
    assert a.active_kid() != first

    clock.advance(10)  # B has not re-read the key file yet (it does every 30 s)
    minting = CapabilityTokens(b, StoreRevocations(engine, clock), clock)
    principal = Principal("alice", "retail", ("customer",))
    token, claims = minting.mint_run("run_1", principal, "desk", ["get_order"], ["retail:read"])
    assert claims.expires_at == pytest.approx(clock.now() + settings.token_ttl_s)

    # within the token's own lifetime, a moment past one TTL after the rotation
    clock.advance(settings.token_ttl_s - 5)
    assert clock.now() < claims.expires_at
    time.sleep(1.1)  # the trust file is re-read at most once a (real) second
    try:  # checked where it was minted, as a run's execution checks it (fresh: signature too)
        minting.verify(token, audience=RUN_AUDIENCE, run_id="run_1", tool="get_order", fresh=True)
    except TetherError as exc:
        pytest.fail(
            f"a token still within its lifetime ({claims.expires_at - clock.now():.0f} s left), "
            f"minted by a replica under the key it held, is refused: {exc.code.value}: "
            f"{exc.message} (minted with {claims.key_id}, rotated away from {first})"
        )


def _replicas(tmp_path: Path) -> tuple[SigningKeyRing, SigningKeyRing, ManualClock, Any]:
    engine = create_store_engine(f"sqlite:///{tmp_path}/store.db")
    migrate(engine)
    clock = ManualClock(start=1_900_000_000.0)
    audit = AuditLog(engine, clock=clock)
    a, b = (SigningKeyRing(engine, AccessSettings(), clock, audit=audit) for _ in range(2))
    return a, b, clock, engine


def test_a_retired_key_verifies_nothing_past_its_grace(tmp_path: Path) -> None:
    a, b, clock, engine = _replicas(tmp_path)
    first = b.active_kid()
    a.rotate()
    minting = CapabilityTokens(b, StoreRevocations(engine, clock), clock)
    principal = Principal("alice", "retail", ("customer",))
    token, _ = minting.mint_run("run_1", principal, "desk", ["get_order"], ["retail:read"])
    clock.advance(b.token_grace_s + 1)  # past any token minted before B could notice
    time.sleep(1.1)
    assert b.verification_key(first) is None
    with pytest.raises(TetherError):
        minting.verify(token, audience=RUN_AUDIENCE, run_id="run_1", tool="get_order", fresh=True)


def test_a_replica_signs_with_the_new_key_once_it_sees_the_old_one_retired(
    tmp_path: Path,
) -> None:
    a, b, clock, _ = _replicas(tmp_path)
    first = b.active_kid()
    clock.advance(1)
    new = a.rotate().kid
    time.sleep(1.1)  # B re-reads the trust file, not waiting for its 30 s key refresh
    clock.advance(1)
    assert b.sign(b"x")[0] == new != first
