"""What a conversation keeps is stored as entries a turn appends to, and read back whole."""

from __future__ import annotations

import json
from typing import Any

from alembic import command
from sqlalchemy import func, insert, select

from tether.conversations import ConversationStore
from tether.conversations.entries import small_state
from tether.conversations.store import ConversationRecord, TurnRecord
from tether.store.conversations_schema import conversation_entries, conversations
from tether.store.db import _alembic_config, create_store_engine
from tether.store.runs import RunStore

MESSAGES = [
    {"role": "user", "content": "Where is order #W1?"},
    {
        "role": "assistant",
        "content": "",
        "tool_calls": [{"id": "c1", "name": "get", "arguments": {}}],
    },
    {"role": "tool", "content": '{"ok":true}', "tool_call_id": "c1"},
    {"role": "assistant", "content": "It is pending [tool:1]."},
]
EVIDENCE = {"tool:1": {"id": "tool:1", "source": "tool:get", "text": "pending"}}


def _state(messages: list[Any], evidence: dict[str, Any], results: int) -> dict[str, Any]:
    return {"messages": messages, "evidence": evidence, "tool_results": results}


def test_an_old_conversation_row_upgrades_to_entries(store_url: str) -> None:
    engine = create_store_engine(store_url)
    cfg = _alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0007")
        body = json.dumps(_state(MESSAGES, EVIDENCE, 1))
        conn.execute(
            insert(conversations).values(
                id="conv_old",
                principal_id="p",
                agent="a",
                domain="retail",
                principal_source="operator",
                asserted_by="",
                status="open",
                created_at=1.0,
                updated_at=2.0,
                expires_at=9e9,
                turns=1,
                state=body,
                pending=None,
                size=len(body),
            )
        )
    engine.dispose()
    store = RunStore.open(store_url)  # upgrades to every head
    record = ConversationStore(store.engine).get("conv_old")
    assert record.state["messages"] == MESSAGES
    assert record.state["evidence"] == EVIDENCE and record.state["tool_results"] == 1
    with store.engine.connect() as conn:  # the row keeps only the small part now
        kept = conn.execute(select(conversations.c.state)).scalar_one()
    assert json.loads(kept) == {"tool_results": 1}
    store.close()


def test_a_turn_appends_only_what_it_added_and_a_rewrite_replaces_the_tail(
    store_url: str,
) -> None:
    store = RunStore.open(store_url)
    conversations_ = ConversationStore(store.engine)

    empty = _state([], {}, 0)
    conversations_.create(
        ConversationRecord(
            "conv_1", "p", "a", "retail", "operator", "", "open", 1.0, 1.0, 9e9, 0, empty, None, 0
        )
    )

    def turn(n: int, before: dict[str, Any], after: dict[str, Any]) -> None:
        assert conversations_.claim("conv_1", f"t{n}", float(n), 60.0)
        record = TurnRecord(n, f"run_{n}", "text", float(n))
        conversations_.finish_turn("conv_1", f"t{n}", record, after, None, float(n), before)

    first = _state(
        [*MESSAGES[:2], {"role": "tool", "content": "NOT_RUN", "tool_call_id": "c1"}], {}, 0
    )
    turn(1, empty, first)
    second = _state(MESSAGES, EVIDENCE, 1)  # the placeholder result replaced by the real one
    turn(2, first, second)
    third = _state([*MESSAGES, {"role": "user", "content": "thanks"}], EVIDENCE, 1)
    turn(3, second, third)
    conversations_.forget()
    record = conversations_.get("conv_1")
    assert record.state["messages"] == third["messages"]
    assert record.state["evidence"] == EVIDENCE and record.turns == 3
    with store.engine.connect() as conn:
        rows = conn.execute(select(func.count()).select_from(conversation_entries)).scalar()
        kept = conn.execute(select(conversations.c.state, conversations.c.size)).one()
    # one row from the first turn rewritten from its changed message on, one appended row per
    # later turn, and the evidence once
    assert rows == 3
    assert json.loads(kept.state) == small_state(third)
    assert kept.size > len(json.dumps(third["messages"])) // 2
    store.close()
