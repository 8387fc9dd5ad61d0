"""A first start killed while it creates the store's tables (SQLite): the next start must
finish the schema, not find it half made for ever."""

from __future__ import annotations

from pathlib import Path

from tests.processes import kill_at_marker, tether

HERE = Path(__file__).resolve().parent


def test_start_killed_mid_migration_leaves_a_store_the_next_start_can_finish(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    url = f"sqlite:///{home / 'tether.db'}"
    marker = tmp_path / "held"
    # killed after `runs` was created, before `steps` is: what a kill -9 of the first start of
    # `tether serve` or `tether worker` leaves while Alembic runs revision 0001
    script = str(HERE / "held_migration.py")
    kill_at_marker([script, url, "CREATE TABLE steps", str(marker)], url, home, marker)

    code, out = tether(url, home, "runs", "list")

    # before: STORE_UNAVAILABLE "table runs already exists", on every later start
    assert code == 0, out
    assert out["runs"] == []
