"""With --json, an option value the command line refuses is a JSON error on stdout, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.refusal_helpers import tether


@pytest.mark.parametrize(
    "args",
    [
        ("runs", "list", "--limit", "0", "--json"),
        ("runs", "list", "--limit", "many", "--json"),
        ("chaos", "--fault-rate", "2", "--json"),
        ("release", "list", "--limit", "-1", "--json"),
    ],
)
def test_an_out_of_range_option_is_refused_as_a_json_error(
    sqlite_url: str, tmp_path: Path, args: tuple[str, ...]
) -> None:
    done = tether(*args, url=sqlite_url, cwd=tmp_path)

    assert done.returncode == 2
    error = json.loads(done.stdout or "null")
    assert error is not None, f"nothing on stdout; stderr: {done.stderr[-300:]}"
    assert error["error"]["code"] == "BAD_REQUEST"
    assert error["error"]["message"]
