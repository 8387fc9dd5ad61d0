"""A store a newer tether migrated (a deploy rolled back, an old CLI on an upgraded database)
must be refused with a stable code naming the problem, not as an unexpected internal error."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.processes import tether

USER = "yusuf_rossi_9620"


def test_a_store_at_a_newer_revision_is_refused_with_a_stable_code(
    store_url: str, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    script = tmp_path / "script.json"
    script.write_text(json.dumps([{"answer": "Hello, how can I help?"}]))
    code, first = tether(store_url, home, "run", "hello", "--as", USER, "--script", str(script))
    assert code == 0, first
    engine = create_engine(store_url)
    with engine.begin() as conn:  # a head only a later release's migration would leave
        conn.execute(
            text(
                "UPDATE alembic_version SET version_num = '9999' "
                "WHERE version_num = (SELECT MAX(version_num) FROM alembic_version)"
            )
        )
    engine.dispose()

    code, out = tether(store_url, home, "runs", "list")

    # before: INTERNAL "unexpected CommandError: Can't locate revision identified by ...", exit 4
    assert out.get("error", {}).get("code") == "STORE_SCHEMA_NEWER", out
    assert code == 3, out
    assert "9999" in out["error"]["message"] and "newer" in out["error"]["message"], out
