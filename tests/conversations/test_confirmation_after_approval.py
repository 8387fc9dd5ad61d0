"""A run that waited for a person and, once approved, ends asking the customer to confirm
another write leaves that pending action in the conversation: the customer's confirm (or a
plain "yes, cancel it") answers it and the write runs. One that ends asking nothing leaves
nothing pending, so a confirm is still NOTHING_PENDING."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.approvals.escalated_return import PROPOSE_RETURN
from tether.approvals.requests import Approver
from tether.core.errors import ErrorCode, TetherError
from tether.domains.retail.pack import RETAIL
from tether.models.scripted import ScriptedModel, parse_script
from tether.sdk import build_desk
from tether.store import RunStore

TURN_1 = PROPOSE_RETURN
AFTER_APPROVAL = [
    {"tool": "get_order_details", "args": {"order_id": "#W4566809"}},
    {
        "tool": "cancel_pending_order",
        "args": {"order_id": "#W4566809", "reason": "no longer needed"},
    },
]


def _approved(tmp_path: Path, monkeypatch, after: list) -> tuple:
    """A desk whose conversation's return waited for a person, who approved it; the run then
    continued with `after`."""
    monkeypatch.setenv("TETHER_HOME", str(tmp_path / "home"))
    store = RunStore.open(f"sqlite:///{tmp_path / 'tether.db'}")
    desk = build_desk(RETAIL, store, fresh=True, approvals=True)
    conversation = desk.runtime.converse("raj_sanchez_2970")
    first = conversation.send(
        "I want to return the grill from order #W1067251 and cancel #W4566809, I no "
        "longer need it. I'm Raj Sanchez, zip 92147.",
        ScriptedModel(parse_script(TURN_1)),
    )
    waiting = conversation.confirm(
        first.pending_action.nonce,
        ScriptedModel(parse_script(after)),
        {"script": after},  # kept with the run, so the approval continues it
    )
    assert waiting.run.status.value == "suspended"
    [approval] = desk.approvals.list(run_id=waiting.run.id)
    decided = desk.approvals.approve(
        approval.id, Approver("operator:sam", "approver", "sam"), "ok", approval.argument_hash
    )
    return store, conversation, first, decided


def _cancelled(run) -> bool:
    return any(s.data.get("tool") == "cancel_pending_order" and s.data.get("ok") for s in run.steps)


def test_confirmation_asked_after_approval_can_be_answered(tmp_path: Path, monkeypatch) -> None:
    store, conversation, _, decided = _approved(tmp_path, monkeypatch, AFTER_APPROVAL)
    try:
        assert decided.run.decision.kind.value == "confirmation"
        asked = decided.run.decision.pending_action["nonce"]
        # the customer presses "confirm" on the question the runtime asked
        done = conversation.confirm(
            asked, ScriptedModel(parse_script([{"answer": "Your order is cancelled."}]))
        )
        assert _cancelled(done.run), "the confirmed cancellation did not run"
    finally:
        store.close()


def test_a_plain_yes_answers_the_question_asked_after_approval(tmp_path: Path, monkeypatch) -> None:
    store, conversation, _, decided = _approved(tmp_path, monkeypatch, AFTER_APPROVAL)
    try:
        assert decided.run.decision.kind.value == "confirmation"
        done = conversation.send(
            "Yes, cancel it.",
            ScriptedModel(parse_script([{"answer": "Your order is cancelled."}])),
        )
        assert _cancelled(done.run), "the yes did not run the cancellation"
    finally:
        store.close()


def test_nothing_is_pending_after_an_approved_run_that_asks_nothing(
    tmp_path: Path, monkeypatch
) -> None:
    answer = [{"answer": "Your return is on its way."}]
    store, conversation, first, decided = _approved(tmp_path, monkeypatch, answer)
    try:
        assert decided.run.decision.kind.value != "confirmation"
        with pytest.raises(TetherError) as nothing:
            conversation.confirm(
                first.pending_action.nonce, ScriptedModel(parse_script([{"answer": "x"}]))
            )
        assert nothing.value.code is ErrorCode.NOTHING_PENDING
    finally:
        store.close()
