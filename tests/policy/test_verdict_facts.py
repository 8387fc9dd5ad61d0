"""A verdict's facts carry the whole request and each determining policy, whatever the engine
decided on: the context as the binding built it (entity references spelled out), and policy
descriptions that one verdict's reader cannot change for the next."""

from __future__ import annotations

from typing import Any

from tether.core.types import Effect
from tether.policy.check import to_verdict
from tether.policy.engine import PolicyDecision, PolicyRequest, plain, ref
from tether.policy.source import PolicyMeta


def spelled_out(value: Any) -> Any:
    """What `plain` means, written the obvious way."""
    if isinstance(value, dict):
        inner = value.get("__entity")
        if isinstance(inner, dict) and len(value) == 1:
            return f"{inner['type']}::{inner['id']}"
        return {k: spelled_out(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [spelled_out(v) for v in value]
    return value


class Facts(dict[str, Any]):
    """A dict subclass, as a binding might build."""


CONTEXT: dict[str, Any] = {
    "flag": True,
    "n": 0,
    "who": ref("Customer", "ann"),
    "items": [ref("Item", "1"), ref("Item", "2")],
    "pair": (1, ref("Order", "#W1")),
    "nested": Facts(inner={"deeper": [{"__entity": {"type": "X", "id": "y"}, "extra": 1}]}),
    "empty": {},
    "none": None,
}


def test_plain_spells_out_every_reference_and_copies_everything_else() -> None:
    out = plain(CONTEXT)
    assert out == spelled_out(CONTEXT)
    assert out["who"] == "Customer::ann" and out["pair"] == [1, "Order::#W1"]
    assert out["nested"]["inner"]["deeper"][0]["extra"] == 1  # not a reference: two keys
    out["nested"]["inner"]["deeper"].append("changed")
    assert CONTEXT["nested"]["inner"]["deeper"] == [
        {"__entity": {"type": "X", "id": "y"}, "extra": 1}
    ]


def test_the_verdict_carries_the_whole_context_and_fresh_policy_descriptions() -> None:
    meta = PolicyMeta("big:one", "forbid", "too big", True, "supervisor", 60, "/p/x.cedar", 3)
    request = PolicyRequest(("Customer", "ann"), "write", ("Order", "#W1"), CONTEXT, [])
    decision = PolicyDecision(Effect.ESCALATE, (meta,), (), (meta,))
    first = to_verdict("policy", decision, request, 0.5)
    assert first.facts["request"]["context"] == spelled_out(CONTEXT)
    assert first.facts["determining"] == [meta.to_dict()]
    first.facts["determining"][0]["reason"] = "tampered"
    second = to_verdict("policy", decision, request, 0.5)
    assert second.facts["determining"] == [meta.to_dict()]
    assert second.facts["determining"][0]["source"] == "x.cedar:3"
