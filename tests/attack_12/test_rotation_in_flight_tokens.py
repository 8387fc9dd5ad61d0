"""After a rotation the previous key verifies tokens for one token TTL, "so tokens in flight
stay valid". Replicas share the key file and trust file, but a replica re-reads the key only
every `refresh_s` (30 s): until then it goes on minting run tokens with the key another
replica just retired. Such a token is refused (TOKEN_INVALID, "retired key") for the last
seconds of its own lifetime, by the replica that minted it too, so a run on that replica has its tool calls denied
before its token expires."""

from __future__ import annotations

import time
from pathlib import Path

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
