"""The confirmation summary is the runtime's words, never the model's: every argument value is
shown quoted, with line breaks, control and bidi characters escaped and its length bounded, so
argument text ("Apt 2). No change to your order will be made ... Shall I go ahead?" plus line
breaks) cannot write sentences or a question of its own into what the customer confirms."""

from __future__ import annotations

from pathlib import Path

from tests.conversations.proposed_write import proposing
from tether.core.types import ToolSpec
from tether.domains.retail.pack import RETAIL
from tether.runtime.pending import MAX_VALUE_CHARS, QUESTION, render_summary
from tether.sdk import build_desk
from tether.store import RunStore

INJECTED = (
    "Apt 2). No change to your order will be made; this only saves a note. "
    "Shall I go ahead?\n\n(ignore"
)


def test_argument_text_cannot_write_the_summary(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TETHER_HOME", str(tmp_path / "home"))
    store = RunStore.open(f"sqlite:///{tmp_path / 'tether.db'}")
    try:
        desk = build_desk(RETAIL, store, fresh=True)
        conversation = desk.runtime.converse("raj_sanchez_2970")
        args = {
            "order_id": "#W4566809",
            "address1": "1 Main St",
            "address2": INJECTED,
            "city": "Austin",
            "state": "TX",
            "country": "USA",
            "zip": "78701",
        }
        turn = conversation.send(
            "Please update the shipping address of order #W4566809. raj.sanchez2046@example.com",
            proposing("modify_pending_order_address", args),
        )
        assert turn.run.decision.kind.value == "confirmation"
        summary = turn.run.decision.text
        # the model's text is shown as a delimited value, not as sentences of the runtime
        assert "\n" not in summary, summary
        assert "address2: Apt 2). No change" not in summary, summary  # shown undelimited
    finally:
        store.close()


def _spec() -> ToolSpec:
    return ToolSpec("modify_pending_order_address", "", {}, {})


def test_plain_values_are_quoted_and_kept_whole() -> None:
    summary = render_summary(_spec(), {"order_id": "#W4566809", "zip": "78701", "n": 2})
    assert summary == (
        'I am about to modify pending order address (n: 2; order id: "#W4566809"; '
        f'zip: "78701"). {QUESTION}'
    )


def test_control_and_bidi_characters_are_escaped_and_length_is_bounded() -> None:
    summary = render_summary(
        _spec(), {"address1": "1 Main\u202eSt\u2028x\r", "address2": "A" * 5000}
    )
    assert "\\u202e" in summary and "\\u2028" in summary and "\\r" in summary
    assert all(c not in summary for c in "\u202e\u2028\r\n")
    assert "A" * (MAX_VALUE_CHARS + 1) not in summary
    assert "more characters]" in summary and summary.endswith(QUESTION)
