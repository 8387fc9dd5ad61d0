"""The README documents what the code does: the two commands first, and every error code."""

from __future__ import annotations

import re
from pathlib import Path

from tether.core.errors import ErrorCode

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_readme_opens_with_the_two_commands() -> None:
    first_block = README.split("```")[1]
    commands = [line.split("#")[0].strip() for line in first_block.splitlines()[1:] if line]
    assert commands == ["make demo", "make test"]


def test_error_code_table_matches_the_code() -> None:
    rows = dict(re.findall(r"^\| `([A-Z_]+)` \| (\d+) \|", README, flags=re.MULTILINE))
    assert set(rows) == {c.value for c in ErrorCode}
    for code in ErrorCode:
        assert int(rows[code.value]) == code.info.http_status, code
