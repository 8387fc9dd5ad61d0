"""Synthetic runs, conversations, audit events, documents and releases written into a store, as
the runtime leaves them, for the business KPIs."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, insert, select

from tether.access.canonical import canonical_json
from tether.store.access_schema import audit_events
from tether.store.conversations_schema import conversation_turns, conversations
from tether.store.grounding_schema import documents
from tether.store.release_schema import releases
from tether.store.runs import RunStore
from tether.store.schema import runs, steps

TOOLS = [
    {"name": "get_order", "risk": "read", "resources": {"order_id": "order"}},
    {"name": "cancel_order", "risk": "write", "resources": {"order_id": "order"}},
]
# two stored releases whose content hashes to their ids, as every reader checks
BUNDLES = [{"tools": TOOLS, "note": arm} for arm in ("a", "b")]
DIGESTS = [hashlib.sha256(canonical_json(b).encode("utf-8")).hexdigest() for b in BUNDLES]
REL_A, REL_B = ("rel_" + d[:16] for d in DIGESTS)
PRICES = {"gpt-x": {"input_per_1k": 1.0, "output_per_1k": 2.0}}


@dataclass
class Made:
    """One run to write: its header, steps as (kind, name, data), audit event kinds."""

    id: str
    release: str | None
    principal: str
    created: float
    ended: float
    decision: str
    steps: Sequence[tuple[str, str, Mapping[str, Any]]]
    audit: Sequence[str] = ()
    conversation: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def turn(tokens: tuple[int, int] = (0, 0), model: str = "gpt-x") -> tuple[str, str, Any]:
    usage = {"prompt_tokens": tokens[0], "completion_tokens": tokens[1]}
    return ("model_turn", "openai", {"output": {"model": model, "usage": usage}})


def guard(tool: str, order: str, effect: str, **extra: Any) -> tuple[str, str, Any]:
    call = {"id": "c1", "name": tool, "arguments": {"order_id": order}}
    return ("guard", tool, {"call": call, "effect": effect, **extra})


def policy_block(rule: str, effect: str) -> dict[str, Any]:
    verdict = {"check": "policy", "effect": effect, "facts": {"determining": [{"id": rule}]}}
    return {"decided_by": "policy", "verdicts": [verdict]}


def decision(kind: str, cites: Sequence[str] = ()) -> tuple[str, str, Any]:
    return ("decision", kind, {"decision": {"kind": kind, "citations": list(cites)}})


def retrieval(*evidence: tuple[str, str, str]) -> tuple[str, str, Any]:
    found = [{"id": i, "source": s, "version": v} for i, s, v in evidence]
    return ("retrieval", "retrieve", {"evidence": found})


SCOPE: tuple[str, str, Any] = ("scope", "scope", {})


def traffic(t0: float) -> list[Made]:
    """Release A: four runs in three conversations (alice asks about order #1 twice, bob is
    refused a cancellation then escalated); release B: an unpriced model and a write."""
    doc = ("kb:doc#1", "kb://doc", "v1")
    return [
        Made(
            "a1", REL_A, "alice", t0 + 100, t0 + 110, "answer",
            [SCOPE, retrieval(doc), turn((1000, 500)), guard("get_order", "#1", "allow"),
             ("tool", "get_order", {"tool": "get_order", "risk": "read",
                                    "arguments": {"order_id": "#1"}}),
             decision("answer", ["kb:doc#1", "tool:1"])],
            ["run.started", "run.decided"], "c1",
        ),
        Made(
            "a2", REL_A, "bob", t0 + 200, t0 + 230, "refusal",
            [SCOPE, turn((2000, 1000)),
             guard("cancel_order", "#7", "deny", **policy_block("no-cancel", "deny")),
             decision("refusal")],
            ["run.started"], "c2",
        ),
        Made(
            "a3", REL_A, "bob", t0 + 300, t0 + 340, "escalation",
            [SCOPE, guard("cancel_order", "#7", "escalate", **policy_block("big-refund",
                                                                           "escalate")),
             ("approval", "requested", {}), decision("escalation")],
            ["run.started", "guard.escalate", "approval.requested", "run.decided"], "c2",
        ),
        Made(
            "a4", REL_A, "alice", t0 + 3600, t0 + 3620, "answer",
            [SCOPE, retrieval(("kb:old#1", "kb://old", "gone")),
             guard("get_order", "#2", "deny", decided_by="ownership",
                   verdicts=[{"check": "ownership", "effect": "deny",
                              "reasons": [{"code": "PERMISSION_DENIED"}]}]),
             guard("get_order", "#1", "allow"), decision("answer", ["kb:old#1"])],
            ["run.started", "guard.deny", "run.decided"], "c3",
        ),
        Made(
            "b1", REL_B, "carol", t0 + 400, t0 + 401, "clarification",
            [SCOPE, turn((10, 10), "mystery"), decision("clarification")],
            ["run.started", "run.decided"], "c4",
        ),
        Made(
            "b2", REL_B, "carol", t0 + 500, t0 + 505, "action",
            [SCOPE, guard("cancel_order", "#9", "allow"),
             ("tool", "cancel_order", {"tool": "cancel_order", "risk": "write",
                                       "arguments": {"order_id": "#9"}}),
             decision("action")],
            ["run.started", "tool.write", "run.decided"],
        ),
    ]  # fmt: skip


def write(store: RunStore, made: list[Made], t0: float) -> None:
    """Runs with their steps and audit events, their conversations, the releases, and the
    document version `v1` of kb://doc, ingested an hour before `t0`."""
    with store.engine.connect() as conn:  # audit events go after those already chained
        last = int(conn.execute(select(func.max(audit_events.c.seq))).scalar() or 0)
    run_rows, step_rows, event_rows = [], [], []
    talks: dict[str, list[Made]] = {}
    for m in made:
        run_rows.append(
            {
                "id": m.id, "agent": "desk", "principal_id": m.principal, "tenant": "t",
                "status": "completed", "decision_kind": m.decision, "decision_code": None,
                "created_at": m.created, "updated_at": m.ended, "trace_id": "",
                "step_count": len(m.steps), "input": "{}", "decision": "{}",
                "checkpoint": "{}", "release_id": m.release,
            }
        )  # fmt: skip
        for seq, (kind, name, data) in enumerate(m.steps, 1):
            step_rows.append(
                {
                    "run_id": m.id, "seq": seq, "kind": kind, "name": name,
                    "started_at": m.created, "ended_at": m.ended, "data": json.dumps(data),
                }
            )  # fmt: skip
        for kind in m.audit:
            n = last + len(event_rows) + 1
            event_rows.append(
                {
                    "seq": n, "ts": int(m.created * 1e6), "kind": kind, "actor": "x",
                    "run_id": m.id, "data": "{}", "prev_hash": "", "hash": f"h{n}",
                }
            )  # fmt: skip
        if m.conversation:
            talks.setdefault(m.conversation, []).append(m)
    talk_rows, turn_rows = [], []
    for cid, turns in talks.items():
        first = turns[0]
        talk_rows.append(
            {
                "id": cid, "principal_id": first.principal, "agent": "desk", "domain": "d",
                "principal_source": "token", "asserted_by": "x", "status": "open",
                "created_at": first.created, "updated_at": turns[-1].ended,
                "expires_at": first.created + 86_400, "turns": len(turns), "state": "{}",
                "size": 0, "release_id": first.release,
            }
        )  # fmt: skip
        for i, t in enumerate(turns, 1):
            turn_rows.append(
                {"conversation_id": cid, "turn": i, "run_id": t.id, "kind": "text",
                 "created_at": t.created}
            )  # fmt: skip
    release_rows = [
        {"id": r, "digest": d, "created_at": t0, "created_by": "x", "note": "",
         "bundle": json.dumps(b)}
        for r, d, b in zip((REL_A, REL_B), DIGESTS, BUNDLES, strict=True)
    ]  # fmt: skip
    document = {
        "uri": "kb://doc", "version": "v1", "source": "kb://", "doc_id": "doc", "title": "Doc",
        "media_type": "text/markdown", "acl": "[]", "size": 1, "chunks": 1, "job_id": "j",
        "ingested_at": t0 - 3600,
    }  # fmt: skip
    with store.engine.begin() as conn:
        conn.execute(insert(runs), run_rows)
        conn.execute(insert(steps), step_rows)
        conn.execute(insert(audit_events), event_rows)
        conn.execute(insert(conversations), talk_rows)
        conn.execute(insert(conversation_turns), turn_rows)
        conn.execute(insert(releases), release_rows)
        conn.execute(insert(documents), [document])
