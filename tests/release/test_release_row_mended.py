"""One damaged row of `releases` (the configuration in force, stored by `system:runtime` on
first use) must not deny every later run its Decision."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.processes import tether

USER = "yusuf_rossi_9620"


CUT = "substr(bundle, 1, 40)"  # a row cut short (a restore from a partial dump, a disk error)
DEEP = "'" + "[" * 5000 + "]" * 5000 + "'"  # JSON nested deeper than the parser recurses


def _damage_bundles(url: str, damage: str = CUT) -> int:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:  # its id and digest still stand, its bundle does not
            done = conn.execute(text(f"UPDATE releases SET bundle = {damage}"))
            return int(done.rowcount)
    finally:
        engine.dispose()


@pytest.mark.parametrize("damage", [CUT, DEEP], ids=["cut", "deep"])
def test_a_damaged_release_row_does_not_stop_every_run(
    store_url: str, tmp_path: Path, damage: str
) -> None:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    script = tmp_path / "script.json"
    script.write_text(json.dumps([{"answer": "Hello, how can I help?"}]))
    code, first = tether(store_url, home, "run", "hello", "--as", USER, "--script", str(script))
    assert code == 0 and first["decision"], first
    assert _damage_bundles(store_url, damage) >= 1

    code, out = tether(store_url, home, "run", "hello", "--as", USER, "--script", str(script))

    # before: {"error": {"code": "INTERNAL", "message": "unexpected JSONDecodeError: ..."}}, no
    # run stored, for every run of every principal until someone repairs the row by hand
    assert out.get("error", {}).get("code") != "INTERNAL", out
    assert code == 0 and out["decision"]["kind"], out
    engine = create_engine(store_url)
    try:  # the content being stored again had the row's digest: it was written back
        with engine.connect() as conn:
            for (bundle,) in conn.execute(text("SELECT bundle FROM releases")):
                assert isinstance(json.loads(bundle), dict)
            events = conn.execute(
                text("SELECT data FROM audit_events WHERE kind = :k"), {"k": "release.repaired"}
            )
            found = [json.loads(data)["found"] for (data,) in events]
            assert found == ["unreadable"], found  # the change is on record
    finally:
        engine.dispose()
