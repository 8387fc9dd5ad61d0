"""What is read of a record whatever the claim is shared by every evidence set that holds a
record read from the same JSON text: the shared reading must say exactly what the set's own
record says, never outlive a record replaced in the set, and never carry one set's changes
into another."""

from __future__ import annotations

import json
from typing import Any

from tether.core.types import Evidence
from tether.grounding.bindings import like_groups
from tether.grounding.evidence_set import MAX_DEPTH, EvidenceSet
from tether.grounding.facts import leaves
from tether.grounding.fields import FieldMap, FieldSpec
from tether.grounding.option_flags import option_flags
from tether.grounding.verifier import Verifier

ORDER: dict[str, Any] = {
    "order_id": "#W77",
    "status": "delivered",
    "items": [
        {"name": "Hiking Boots", "options": {"color": "silver", "waterproof": "yes"}},
        {"name": "Smart Watch", "options": {"color": "gold", "waterproof": "no"}},
    ],
}
MAPS = (FieldMap("get_order", (FieldSpec("order_id", "id"), FieldSpec("status", "status"))),)
PASSAGE = "Delivered orders can be returned within 30 days. Pending orders can be cancelled."


def _from_text(raw: str) -> EvidenceSet:
    out = EvidenceSet(maps=MAPS)
    out.add("kb", PASSAGE)
    out.add("tool:1", raw, tool="get_order")
    return out


def _from_record(record: Any) -> EvidenceSet:
    out = EvidenceSet(maps=MAPS)
    out.add("kb", PASSAGE)
    out.add_record("tool:1", record, tool="get_order")
    return out


def _reading(evidence: EvidenceSet) -> Any:
    record = evidence.records["tool:1"]
    return (
        [(v.evidence_id, v.record, v.fields, v.ids, v.noun, v.facts) for v in evidence.views],
        [like_groups(v.record, v.facts) for v in evidence.views],
        evidence.option_flags,
        evidence.index.value_fields(record),
        evidence.size,
        [evidence.sharing(t) for t in (["delivered"], ["orders", "cancelled"], ["nothing"])],
        [evidence.sharing(t, whole=True) for t in (["returned"], {"status", "orders"})],
    )


def test_a_shared_reading_says_what_a_fresh_one_says() -> None:
    raw = json.dumps(ORDER)
    fresh = _reading(_from_record(json.loads(raw)))
    first, second = _reading(_from_text(raw)), _reading(_from_text(raw))
    assert first == fresh and second == fresh
    assert fresh[2] == tuple(option_flags({"tool:1": ORDER}))
    assert {f.holds for f in fresh[2]} == {True, False}  # the options were really read
    assert fresh[4] == len(PASSAGE) + len(json.dumps(ORDER))


def test_a_set_s_change_to_its_record_never_reaches_another_set() -> None:
    raw = json.dumps({**ORDER, "note": "first seen by the set that changes it"})
    tampered = _from_text(raw)  # the first set to read this text
    tampered.records["tool:1"]["status"] = "pending"
    tampered.records["tool:1"]["items"][0]["options"]["color"] = "gold"
    for v in tampered.views:
        for group in like_groups(v.record, v.facts):
            assert all(s[2] is not tampered.records["tool:1"]["items"][0] for s in group)
    verifier = Verifier()
    right = "Order #W77 is delivered."
    after = verifier.verify_items(right, [Evidence("tool:1", "tool:get_order", raw)])
    fresh = EvidenceSet.from_items([Evidence("tool:1", "tool:get_order", raw)])
    fresh.add_record("tool:1", json.loads(raw))  # read as itself, shared with nothing
    assert after.to_dict() == verifier.verify(right, fresh).to_dict()
    assert not after.flagged
    wrong = verifier.verify_items(
        "Order #W77 is pending.", [Evidence("tool:1", "tool:get_order", raw)]
    )
    assert wrong.flagged


def test_a_replaced_record_is_read_as_itself() -> None:
    raw = json.dumps(ORDER)
    other = {"order_id": "#W78", "status": "pending", "gift": "yes"}
    replaced = _from_text(raw)
    replaced.add_record("tool:1", other, tool="get_order")
    assigned = _from_text(raw)
    assigned.records["tool:1"] = other
    for evidence in (replaced, assigned):
        assert _reading(evidence) == _reading(_from_record(other))
        [v] = evidence.views
        assert v.facts == tuple(leaves(other)) and v.ids == ("#W78",)
        assert [f.value for f in evidence.option_flags] == ["yes"]


def test_a_text_too_deep_is_left_out_every_time_it_comes() -> None:
    raw = "[" * (MAX_DEPTH + 2) + "]" * (MAX_DEPTH + 2)
    for _ in range(2):
        evidence = _from_text(raw)
        assert "tool:1" not in evidence.records
        assert evidence.problems == [f"tool:1: EVIDENCE_SHAPE (nested deeper than {MAX_DEPTH})"]
