"""Separation of duties from the command line: the person at the terminal who starts a
conversation with `tether converse --as raj_sanchez_2970` (the operator vouching for the
customer) can approve the escalated return it asks for with `tether approvals approve` in the
next breath. The CLI's turns record no operator, so the request's `requested_by` is the customer
and the CLI approver (`cli:<user>`) is never compared with the operator who started it."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.processes import tether

SCRIPT = [
    {
        "user": "I want to return the grill from order #W1067251. I'm Raj Sanchez, zip 92147.",
        "model": [
            {
                "tool": "find_user_id_by_name_zip",
                "args": {"first_name": "Raj", "last_name": "Sanchez", "zip": "92147"},
            },
            {"tool": "get_order_details", "args": {"order_id": "#W1067251"}},
            {
                "tool": "return_delivered_order_items",
                "args": {
                    "order_id": "#W1067251",
                    "item_ids": ["7848293342"],
                    "payment_method_id": "credit_card_3362387",
                },
            },
        ],
    },
    {"confirm": True, "model": [{"answer": "Your return of the grill is requested [tool:3]."}]},
]


def test_cli_operator_cannot_approve_what_it_started(tmp_path: Path) -> None:
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
    # the same terminal user who started the conversation tries to approve its return
    code, decided = tether(
        url, home, "approvals", "approve", approval["id"], "--hash", approval["argument_hash"]
    )
    assert code != 0, f"the operator who started the run approved it: {decided}"
    assert "APPROVER_IS_REQUESTER" in str(decided), decided
