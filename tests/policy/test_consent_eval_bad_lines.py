"""`tether eval confirmations --data FILE --json` and `load_confirmations` give DATA_INVALID,
naming the line, for a reply whose text is a lone surrogate ("\\ud800", valid JSON but no
text a report can print) and for a line nested too deeply to parse (100,000 "["), instead of a
traceback or INTERNAL. A proper surrogate pair ("\\ud83d\\udc4d", 👍) still loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.processes import tether
from tether.core.errors import ErrorCode, TetherError
from tether.policy.consent_eval import load_confirmations

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


@pytest.mark.parametrize("case", sorted(LINES))
def test_load_names_the_bad_line(tmp_path: Path, case: str) -> None:
    data = tmp_path / "replies.jsonl"
    data.write_text('{"text": "yes please", "label": "confirm"}\n' + LINES[case], encoding="utf-8")
    with pytest.raises(TetherError) as bad:
        load_confirmations(data)
    assert bad.value.code is ErrorCode.DATA_INVALID
    assert bad.value.details["where"].endswith(":2")


def test_a_surrogate_pair_and_shallow_nesting_are_read_as_usual(tmp_path: Path) -> None:
    data = tmp_path / "replies.jsonl"
    data.write_text('{"text": "yes \\ud83d\\udc4d", "label": "confirm"}\n', encoding="utf-8")
    [reply] = load_confirmations(data)
    assert reply.text == "yes \U0001f44d"
    data.write_text("[[[]]]\n", encoding="utf-8")
    with pytest.raises(TetherError) as bad:
        load_confirmations(data)
    assert "JSON object" in bad.value.message
