"""A run that waited for a person and, once approved, ends in a confirmation (the model goes on
to propose another write that needs the customer's yes) asks the customer "Shall I go ahead?",
but the conversation never takes that pending action in: when the decided run is folded in
(`TurnStateMixin._settled` / `ConversationStore.settle`) only the state is kept and the pending
action stays as it was (none). The customer's confirm is then NOTHING_PENDING, and a "yes" is
read against nothing: the question the runtime asked can never be answered."""

from __future__ import annotations

from pathlib import Path

from tether.approvals.requests import Approver
from tether.domains.retail.pack import RETAIL
from tether.models.scripted import ScriptedModel, parse_script
from tether.sdk import build_desk
from tether.store import RunStore

TURN_1 = [
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
]
AFTER_APPROVAL = [
    {"tool": "get_order_details", "args": {"order_id": "#W4566809"}},
    {
        "tool": "cancel_pending_order",
        "args": {"order_id": "#W4566809", "reason": "no longer needed"},
    },
]


def test_confirmation_asked_after_approval_can_be_answered(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TETHER_HOME", str(tmp_path / "home"))
    store = RunStore.open(f"sqlite:///{tmp_path / 'tether.db'}")
    try:
        desk = build_desk(RETAIL, store, fresh=True, approvals=True)
        conversation = desk.runtime.converse("raj_sanchez_2970")
        first = conversation.send(
            "I want to return the grill from order #W1067251 and cancel #W4566809, I no "
            "longer need it. I'm Raj Sanchez, zip 92147.",
            ScriptedModel(parse_script(TURN_1)),
        )
        waiting = conversation.confirm(
            first.pending_action.nonce,
            ScriptedModel(parse_script(AFTER_APPROVAL)),
            {"script": AFTER_APPROVAL},  # kept with the run, so the approval continues it
        )
        assert waiting.run.status.value == "suspended"
        [approval] = desk.approvals.list(run_id=waiting.run.id)
        decided = desk.approvals.approve(
            approval.id, Approver("operator:sam", "approver", "sam"), "ok", approval.argument_hash
        )
        assert decided.run.decision.kind.value == "confirmation"
        asked = decided.run.decision.pending_action["nonce"]
        # the customer presses "confirm" on the question the runtime asked
        done = conversation.confirm(
            asked, ScriptedModel(parse_script([{"answer": "Your order is cancelled."}]))
        )
        ran = [
            s
            for s in done.run.steps
            if s.data.get("tool") == "cancel_pending_order" and s.data.get("ok")
        ]
        assert ran, "the confirmed cancellation did not run"
    finally:
        store.close()
