"""What execution checks, it reads afresh: a resource that changed hands after the guard chain
allowed the call is refused where the tool runs, and the run token's signature is checked there
over the token's own bytes, even for a token this process minted and parsed before."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import text

from tests.access.conftest import open_access
from tests.access.helpers import AUTH, OWN_PENDING_ORDER, SpyCheck, add_check, ask, open_desk
from tether.access.canonical import b64url_decode
from tether.access.tokens import RUN_AUDIENCE
from tether.core.clock import ManualClock
from tether.core.errors import ErrorCode
from tether.core.guard import GuardContext
from tether.core.types import DecisionKind, Principal, StepKind, ToolCall
from tether.domains.retail.db import RetailDB
from tether.store.runs import RunStore

OTHER = "james_johnson_9321"


def hand_over(db: RetailDB, order_id: str, user_id: str) -> None:
    """Another writer gives the order to another customer, straight in the database."""
    with db.engine.begin() as conn:
        found = conn.execute(text("SELECT data FROM retail_orders WHERE id = :k"), {"k": order_id})
        order = json.loads(found.scalar_one())
        order["user_id"] = user_id
        conn.execute(
            text("UPDATE retail_orders SET data = :d WHERE id = :k"),
            {"d": json.dumps(order), "k": order_id},
        )


def test_an_order_handed_over_after_the_chain_allowed_it_is_refused_at_execution(
    sqlite_store: RunStore,
) -> None:
    desk = open_desk(sqlite_store)
    db = desk.data
    assert isinstance(db, RetailDB)

    def after_the_checks(ctx: GuardContext, call: ToolCall) -> None:
        if call.name == "get_order_details":  # the ownership check read it as raj's just now
            hand_over(db, OWN_PENDING_ORDER, OTHER)

    chain = desk.runtime.tool_checks
    add_check(desk, SpyCheck(after_the_checks))
    read = {"tool": "get_order_details", "args": {"order_id": OWN_PENDING_ORDER}}
    run = ask(desk, "What is the status of my order?", [AUTH, read, {"answer": "x"}])
    assert run.decision is not None and run.decision.kind is DecisionKind.REFUSAL
    assert run.decision.reason is not None
    assert run.decision.reason.code is ErrorCode.RESOURCE_NOT_IN_TOKEN
    guards = [s for s in run.steps if s.kind is StepKind.GUARD and s.name == "get_order_details"]
    assert guards[0].data["effect"] == "allow"  # the chain saw raj's order
    assert guards[-1].data["stage"] == "execute"
    assert guards[-1].data["reads"][f"retail_orders:{OWN_PENDING_ORDER}"]["user_id"] == OTHER
    assert [s.name for s in run.steps if s.kind is StepKind.TOOL] == ["find_user_id_by_email"]
    # handed back, the same read goes through: nothing of the refusal was kept
    desk.runtime.tool_checks = chain
    hand_over(db, OWN_PENDING_ORDER, "raj_sanchez_2970")
    again = ask(desk, "What is the status of my order?", [AUTH, read, {"answer": "x"}])
    assert [s.name for s in again.steps if s.kind is StepKind.TOOL] == [
        "find_user_id_by_email",
        "get_order_details",
    ]


class _Recording:
    """A verification key that keeps what it was asked to verify."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.asked: list[tuple[bytes, bytes]] = []

    def verify(self, signature: bytes, data: bytes) -> None:
        self.asked.append((signature, data))
        self.inner.verify(signature, data)


def test_execution_checks_the_signature_over_the_tokens_own_bytes(
    sqlite_store: RunStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    access = open_access(sqlite_store, ManualClock(start=1_800_000_000.0))
    raj = Principal("raj_sanchez_2970", "retail", ("customer",))
    token, _ = access.tokens.mint_run("run_1", raj, "retail-desk", ("get_order_details",), ())
    tokens = access.tokens
    tokens.verify(token, audience=RUN_AUDIENCE)  # the chain's check: claims known, no signature
    pinned = tokens.keys.verification_key(tokens.decode(token).key_id)
    recording = _Recording(pinned)
    monkeypatch.setattr(tokens.keys, "verification_key", lambda kid: recording)
    tokens.verify(token, audience=RUN_AUDIENCE, fresh=True)
    prefix, payload, signature = token.split(".")
    assert recording.asked == [(b64url_decode(signature), f"{prefix}.{payload}".encode())]
    # another key object (re-pinned, rotated) is asked again, over the same bytes
    again = _Recording(pinned)
    monkeypatch.setattr(tokens.keys, "verification_key", lambda kid: again)
    tokens.verify(token, audience=RUN_AUDIENCE, fresh=True)
    assert again.asked == recording.asked
