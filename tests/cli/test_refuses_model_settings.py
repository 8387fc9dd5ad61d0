"""A server whose model is misconfigured refuses to start: CONFIG_INVALID naming the variable,
exit 2, before it serves (not a healthy-looking replica whose every run fails)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.refusal_helpers import start_server


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"TETHER_MODEL": "opnai:gpt-4o-mini"}, "TETHER_MODEL"),
        ({"TETHER_MODEL": "openai:gpt-4o-mini", "TETHER_MODEL_TIMEOUT": "abc"},
         "TETHER_MODEL_TIMEOUT"),
    ],
)  # fmt: skip
def test_a_server_with_a_bad_model_setting_refuses_to_start(
    sqlite_url: str, tmp_path: Path, settings: dict[str, str], named: str
) -> None:
    served, code, stderr = start_server(sqlite_url, tmp_path, settings)
    assert not served, f"the server started and answered ready with {settings}"
    assert code == 2
    assert "CONFIG_INVALID" in stderr and named in stderr, stderr[-500:]
