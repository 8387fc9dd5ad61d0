"""A tether process for the kill tests (run as a script, never imported by tests).

python kill_child.py suspend URL MARKER
    start the large return; once it waits for approval, write MARKER and wait to be killed
python kill_child.py approve URL APPROVAL_ID ACTOR [BOUNDARY MARKER]
    approve as ACTOR and print the run as JSON; with BOUNDARY (before_call, after_call),
    write MARKER when the approved call reaches it and wait to be killed
python kill_child.py resume URL APPROVAL_ID
    finish the run of a decided request and print it as JSON
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tether.approvals import Approver, EscalationConfig
from tether.domains.retail.desk import open_retail_desk
from tether.models.scripted import ScriptedModel, parse_script
from tether.sdk import Desk
from tether.store import RunStore
from tether.tools.envelope import EnvelopeExecutor
from tether.tools.execute import CallContext, ToolOutcome
from tether.tools.registry import Tool

USER = "raj_sanchez_2970"
TOOL = "return_delivered_order_items"
TALK = (
    "I want to return the grill from order #W1067251. I'm Raj Sanchez, zip 92147.",
    "I can request the return of the Grill (item 7848293342) from order #W1067251, refunding "
    "$942.71 to your original credit card ending 2130. Shall I go ahead?",
    "Yes, go ahead.",
)
SCRIPT = [
    {
        "tool": "find_user_id_by_name_zip",
        "args": {"first_name": "Raj", "last_name": "Sanchez", "zip": "92147"},
    },
    {
        "tool": TOOL,
        "args": {
            "order_id": "#W1067251",
            "item_ids": ["7848293342"],
            "payment_method_id": "credit_card_3362387",
        },
    },
    {"answer": "Your return is requested [tool:2]."},
]


def wait_to_be_killed(marker: Path, text: str) -> None:
    marker.write_text(text)
    time.sleep(120)  # the parent kills this process with SIGKILL before this ends
    raise SystemExit("not killed in time")


class PausingExecutor:
    """Stops before or after the approved call executes."""

    def __init__(self, inner: EnvelopeExecutor, boundary: str, marker: Path) -> None:
        self.inner, self.boundary, self.marker = inner, boundary, marker

    def execute(self, tool: Tool, arguments: Mapping[str, Any], call: CallContext) -> ToolOutcome:
        if tool.name == TOOL and self.boundary == "before_call":
            wait_to_be_killed(self.marker, self.boundary)
        outcome = self.inner.execute(tool, arguments, call)
        if tool.name == TOOL and self.boundary == "after_call":
            wait_to_be_killed(self.marker, self.boundary)  # done, not yet recorded
        return outcome


def open_desk(url: str) -> Desk:
    return open_retail_desk(RunStore.open(url), approvals=True, escalations=EscalationConfig())


def main(argv: list[str]) -> None:
    mode, url = argv[:2]
    desk = open_desk(url)
    approvals = desk.approvals
    assert approvals is not None
    if mode == "suspend":
        conversation = desk.runtime.converse(USER)
        head, rest = SCRIPT[:2], SCRIPT[2:]  # the return is proposed, then confirmed
        asked = conversation.send(TALK[0], ScriptedModel(parse_script(head)))
        assert asked.pending_action is not None, asked.to_dict()
        model = ScriptedModel(parse_script(rest))
        run = conversation.confirm(asked.pending_action.nonce, model, {"script": rest}).run
        (approval,) = approvals.list(run_id=run.id)
        wait_to_be_killed(Path(argv[2]), json.dumps({"run": run.id, "approval": approval.id}))
    if mode == "approve":
        approval_id, actor = argv[2:4]
        if len(argv) > 4:
            pausing = PausingExecutor(EnvelopeExecutor(), argv[4], Path(argv[5]))
            desk.runtime = dataclasses.replace(desk.runtime, executor=pausing)
        decided = approvals.approve(approval_id, Approver(actor, "approver"))
        print(json.dumps(decided.run.to_dict()))
    if mode == "resume":
        print(json.dumps(approvals.resume(argv[2]).to_dict()))


if __name__ == "__main__":
    main(sys.argv[1:])
