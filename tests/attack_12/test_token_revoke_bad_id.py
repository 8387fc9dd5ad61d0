"""`tether tokens revoke ID` with an id no token can have (longer than the revocation list's
64-character id column) must be refused as the caller's mistake, alike on every store. On
PostgreSQL the insert overflows the column and the command ends in `INTERNAL` (exit 4,
"unexpected StringDataRightTruncation"): a bug report for bad input, while SQLite stores it."""

from __future__ import annotations

from pathlib import Path

from tests.processes import tether

LONG_ID = "tok_" + "a" * 80


def test_revoking_an_id_too_long_for_any_token_is_not_an_internal_error(
    pg_url: str, tmp_path: Path
) -> None:
    code, out = tether(pg_url, tmp_path / "home", "tokens", "revoke", LONG_ID)
    error = (out.get("error") or {}) if isinstance(out, dict) else {}
    assert code != 4 and error.get("code") != "INTERNAL", (code, out)
