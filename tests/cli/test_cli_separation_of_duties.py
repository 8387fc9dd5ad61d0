"""Separation of duties from the command line: a run or turn started from the CLI records the
person at the terminal (`cli:<user>`, as `tether approvals` names its approver) as the
operator who asked for it, so that person's `tether approvals approve` of the escalated return
is APPROVER_IS_REQUESTER, while another terminal user may approve it."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.approvals.escalated_return import PROPOSE_RETURN
from tests.processes import tether

SCRIPT = [
    {
        "user": "I want to return the grill from order #W1067251. I'm Raj Sanchez, zip 92147.",
        "model": PROPOSE_RETURN,
    },
    {"confirm": True, "model": [{"answer": "Your return of the grill is requested [tool:3]."}]},
]


def _escalated(tmp_path: Path, monkeypatch) -> tuple[str, Path, dict]:
    """A conversation started by terminal user `alice`, whose return waits for a person."""
    monkeypatch.setenv("LOGNAME", "alice")
    url = f"sqlite:///{tmp_path / 'tether.db'}"
    home = tmp_path / "home"
    home.mkdir()
    script = tmp_path / "talk.yaml"
    script.write_text(yaml.safe_dump(SCRIPT), encoding="utf-8")
    code, out = tether(url, home, "converse", "--as", "raj_sanchez_2970", "--script", str(script))
    assert code == 0, out
    code, listed = tether(url, home, "approvals", "list")
    assert code == 0, listed
    [approval] = listed["approvals"]
    assert approval["tool"] == "return_delivered_order_items"
    assert approval["requested_by"] == "cli:alice"
    return url, home, approval


def test_cli_operator_cannot_approve_what_it_started(tmp_path: Path, monkeypatch) -> None:
    url, home, approval = _escalated(tmp_path, monkeypatch)
    # the same terminal user who started the conversation tries to approve its return
    code, decided = tether(
        url, home, "approvals", "approve", approval["id"], "--hash", approval["argument_hash"]
    )
    assert code != 0, f"the operator who started the run approved it: {decided}"
    assert "APPROVER_IS_REQUESTER" in str(decided), decided


def test_another_terminal_user_may_approve(tmp_path: Path, monkeypatch) -> None:
    url, home, approval = _escalated(tmp_path, monkeypatch)
    monkeypatch.setenv("LOGNAME", "bob")
    code, decided = tether(
        url, home, "approvals", "approve", approval["id"], "--hash", approval["argument_hash"]
    )
    assert code == 0, decided


def test_a_cli_run_records_its_operator(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("LOGNAME", "alice")
    url = f"sqlite:///{tmp_path / 'tether.db'}"
    home = tmp_path / "home"
    home.mkdir()
    script = tmp_path / "run.yaml"
    script.write_text(yaml.safe_dump(SCRIPT[0]["model"]), encoding="utf-8")
    code, run = tether(
        url, home, "run", SCRIPT[0]["user"], "--as", "raj_sanchez_2970", "--script", str(script)
    )
    assert code == 0, run
    assert run["input"]["metadata"]["operator"] == "cli:alice", run["input"]
