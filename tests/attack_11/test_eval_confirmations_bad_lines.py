"""`tether eval confirmations --data FILE --json` gives DATA_INVALID for a malformed line, but
not for two: a reply whose text is a lone surrogate ("\\ud800", valid JSON) is loaded, scored (a
false confirm, so it is listed as an example),
and then crashes the report with a UnicodeEncodeError traceback (exit 1, no code); a line of
100,000 nested brackets comes back as INTERNAL (RecursionError)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.processes import tether

LINES = {
    "surrogate": '{"text": "yes \\ud800", "label": "other"}\n',
    "nested": "[" * 100_000 + "\n",
}


@pytest.mark.parametrize("case", sorted(LINES))
def test_bad_line_is_data_invalid(tmp_path: Path, case: str) -> None:
    home = tmp_path / "home"
    home.mkdir()
    data = tmp_path / "replies.jsonl"
    data.write_text('{"text": "yes please", "label": "confirm"}\n' + LINES[case], encoding="utf-8")
    code, out = tether(
        f"sqlite:///{tmp_path / 'tether.db'}", home, "eval", "confirmations", "--data", str(data)
    )
    assert code != 0
    assert isinstance(out, dict) and out.get("error", {}).get("code") == "DATA_INVALID", out
