"""A bad access setting in the environment is CONFIG_INVALID naming the variable, at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest

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


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TETHER_TOKEN_TTL", "100000"),
        ("TETHER_REVOCATION_CACHE", "61"),
        ("TETHER_AUDIT_CHECKPOINT_EVERY", "0.5"),
        ("TETHER_SIGNING_KEY_MAX_AGE", "10"),
    ],
)
def test_an_access_setting_out_of_its_range_is_refused_naming_the_variable(
    sqlite_url: str, tmp_path: Path, name: str, value: str
) -> None:
    done = tether("audit", "verify", "--json", url=sqlite_url, cwd=tmp_path, env={name: value})

    assert done.returncode == 2, done.stdout
    error = error_of(done)
    assert error["code"] == "CONFIG_INVALID"
    assert name in error["message"], error["message"]
