"""`tether tokens revoke ID` with an id no token can have (longer than the revocation list's
64-character id column, empty, or with control characters) is refused as the caller's mistake
(BAD_REQUEST, exit 2), alike on every store: PostgreSQL would refuse the insert with a driver
error (INTERNAL, exit 4) while SQLite stored it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.processes import tether
from tether.access.revocation import MAX_TOKEN_ID_CHARS, StoreRevocations, check_token_id
from tether.core.errors import ErrorCode, TetherError
from tether.store.db import create_store_engine, migrate

LONG_ID = "tok_" + "a" * 80
LONGEST_ID = "tok_" + "b" * (MAX_TOKEN_ID_CHARS - 4)


@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
def test_revoking_an_id_too_long_for_any_token_is_bad_input_on_every_store(
    store_url: str, tmp_path: Path
) -> None:
    code, out = tether(store_url, tmp_path / "home", "tokens", "revoke", LONG_ID)
    assert code == 2 and out["error"]["code"] == "BAD_REQUEST", (code, out)
    code, out = tether(store_url, tmp_path / "home", "tokens", "revoke", LONGEST_ID)
    assert code == 0 and out == {"token_id": LONGEST_ID, "revoked": True}, (code, out)


BAD_IDS = ["", LONG_ID, "tok_" + "é" * 61, "tok_\x00abc", "tok_a\nb", "tok_\tx"]
GOOD_IDS = ["tok_0123456789abcdef01234567", LONGEST_ID, "tok_" + "é" * 60, "call_appr 1"]


@pytest.mark.parametrize("token_id", BAD_IDS)
def test_an_id_no_token_can_have_is_refused(token_id: str) -> None:
    with pytest.raises(TetherError) as raised:
        check_token_id(token_id)
    assert raised.value.code is ErrorCode.BAD_REQUEST


@pytest.mark.parametrize("token_id", GOOD_IDS)
def test_an_id_a_token_can_have_passes(token_id: str) -> None:
    assert check_token_id(token_id) == token_id


@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
def test_the_store_refuses_bad_ids_and_keeps_good_ones(store_url: str) -> None:
    engine = create_store_engine(store_url)
    migrate(engine)
    revocations = StoreRevocations(engine)
    for token_id in BAD_IDS:
        with pytest.raises(TetherError):
            revocations.revoke(token_id, 4_000_000_000.0)
    for token_id in GOOD_IDS:
        revocations.revoke(token_id, 4_000_000_000.0)
        assert revocations.status(token_id) == "revoked"
