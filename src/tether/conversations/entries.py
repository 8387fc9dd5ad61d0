"""What a conversation keeps, stored as entries: each turn appends one row of the messages it
added (kind "m", `seq` the index of its first message) and one of the evidence it added
(kind "e"), instead of rewriting all the conversation holds, so neither a turn's write nor
the number of rows read grows with every message. A turn that settles a run a person decided
may replace the tail its suspended part left (a placeholder result of a call that then ran):
the rows from the one holding the first changed message on are rewritten. Evidence only adds:
a later item with an id replaces an earlier one when read back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, select

from tether.store.conversations_schema import conversation_entries

BULK = ("messages", "evidence")  # what lives in entries rather than in the state column


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def small_state(state: Mapping[str, Any]) -> dict[str, Any]:
    """The state without its messages and evidence (counters, the run waiting for a person)."""
    return {k: v for k, v in state.items() if k not in BULK}


def read(conn: Connection, conversation_id: str) -> tuple[list[Any], dict[str, Any]]:
    """The conversation's messages, in order, and its evidence by id."""
    rows = conn.execute(
        select(conversation_entries.c.kind, conversation_entries.c.body)
        .where(conversation_entries.c.conversation_id == conversation_id)
        .order_by(conversation_entries.c.kind, conversation_entries.c.seq)
    ).all()
    messages: list[Any] = []
    evidence: dict[str, Any] = {}
    for kind, body in rows:
        if kind == "m":
            messages.extend(json.loads(body))
        else:
            evidence.update((str(item["id"]), item) for item in json.loads(body))
    return messages, evidence


def _shared(before: Sequence[Any], after: Sequence[Any]) -> int:
    """How many leading messages the two lists have in common."""
    n = min(len(before), len(after))
    if list(before[:n]) == list(after[:n]):
        return n
    return next(i for i in range(n) if before[i] != after[i])


def _bytes(value: Any) -> int:
    return len(dumps(value).encode("utf-8"))


def write(
    conn: Connection,
    conversation_id: str,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any],
) -> int:
    """Store `after`'s messages and evidence, given the stored `before` (None: nothing stored
    is known, so everything is rewritten); returns the change in bytes kept."""
    t = conversation_entries.c
    mine = t.conversation_id == conversation_id
    new_messages = list(after.get("messages", ()))
    new_evidence: Mapping[str, Any] = after.get("evidence", {})
    old_messages: list[Any] = []
    old_evidence: Mapping[str, Any] = {}
    start = 0
    delta = 0
    if before is None:
        conn.execute(delete(conversation_entries).where(mine))
    else:
        old_messages = list(before.get("messages", ()))
        old_evidence = before.get("evidence", {})
        start = _shared(old_messages, new_messages)
        if start < len(old_messages):  # rewrite from the row holding the first change
            held = and_(mine, t.kind == "m", t.seq <= start)
            start = int(conn.execute(select(func.max(t.seq)).where(held)).scalar() or 0)
            conn.execute(
                delete(conversation_entries).where(and_(mine, t.kind == "m", t.seq >= start))
            )
            delta -= _bytes(old_messages[start:])
    rows = []
    if new_messages[start:]:
        body = dumps(new_messages[start:])
        delta += len(body.encode("utf-8"))
        rows.append({"conversation_id": conversation_id, "kind": "m", "seq": start, "body": body})
    added = [v for k, v in new_evidence.items() if old_evidence.get(k) != v]
    if added:
        last = conn.execute(select(func.max(t.seq)).where(and_(mine, t.kind == "e"))).scalar()
        body = dumps(added)
        delta += len(body.encode("utf-8"))
        seq = 0 if last is None else int(last) + 1
        rows.append({"conversation_id": conversation_id, "kind": "e", "seq": seq, "body": body})
    if rows:
        conn.execute(insert(conversation_entries), rows)
    return delta
