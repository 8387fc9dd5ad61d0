"""The retail desk ingests its packaged knowledge base (`kb://retail/`) before its first search
(README, Hybrid retrieval), and every run ends in a Decision of its own. An operator who first
ingests a folder of their own holding a `refunds.md` (a name the pack's knowledge base also
uses) must not leave the desk unable to ground any run."""

from __future__ import annotations

import json
from pathlib import Path

from tests.processes import tether


def test_an_operator_refunds_page_does_not_break_every_run(store_url: str, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "refunds.md").write_text(
        "# Refunds\n\nStore credit refunds arrive within one business day.\n", encoding="utf-8"
    )
    home = tmp_path / "home"
    code, report = tether(store_url, home, "ingest", str(docs), "--acl", "public")
    assert code == 0, report

    script = tmp_path / "script.json"
    script.write_text(json.dumps([{"answer": "Happy to help with refunds."}]), encoding="utf-8")
    code, run = tether(
        store_url,
        home,
        "run",
        "How long do refunds take to arrive?",
        "--as",
        "noah_brown_6181",
        "--script",
        str(script),
    )
    assert "decision" in run, run
    reason = run["decision"].get("reason") or {}
    assert reason.get("code") != "DATA_INVALID", run["decision"]
    kinds = [s["kind"] for s in run["steps"]]
    assert "retrieval" in kinds, kinds
