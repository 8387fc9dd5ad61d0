"""A bad access setting in the environment is CONFIG_INVALID naming the variable, at start-up."""

from __future__ import annotations

from pathlib import Path

from tests.cli.refusal_helpers import error_of, tether


def test_an_infinite_checkpoint_interval_in_events_is_refused_with_its_code(
    sqlite_url: str, tmp_path: Path
) -> None:
    done = tether(
        "audit", "verify", "--json",
        url=sqlite_url, cwd=tmp_path, env={"TETHER_AUDIT_CHECKPOINT_EVERY": "1e999"},
    )  # fmt: skip

    assert done.returncode == 2, done.stdout
    error = error_of(done)
    assert error["code"] == "CONFIG_INVALID"
    assert "TETHER_AUDIT_CHECKPOINT_EVERY" in error["message"]
