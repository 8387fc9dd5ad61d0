"""Evidence items are indexed once and shared: a set of items seen before reads exactly as if
every item were new, and each set keeps its own records."""

from __future__ import annotations

import json

import pytest

from tether.grounding import evidence_clauses
from tether.grounding.evidence_clauses import MAX_SHARED_CHARS
from tether.grounding.evidence_set import EvidenceSet
from tether.grounding.sources import SourceIndex
from tether.grounding.text_forms import mixed_script

POLICY = (
    "Cancellations:\n"
    "- pending orders: they can be cancelled at once. Refunds take 5 to 7 business days.\n"
    "- delivered orders: they cannot be cancelled, only returned within 30 days.\n"
    "Exchanges are free. Ask Maria Lopez at 9 AM or after 17:30."
)
ORDER = json.dumps(
    {
        "order_id": "#W4566809",
        "status": "pending",
        "items": [{"name": "Lamp", "price": 149.99}, {"name": "Lamp", "price": 152.5}],
        "hours": {"monday": "9:00-17:00"},
    }
)
USER = json.dumps({"user_id": "raj_sanchez_2970", "name": {"first": "Raj"}, "gift": True})


def evidence(*items: tuple[str, str]) -> EvidenceSet:
    out = EvidenceSet()
    for evidence_id, text in items:
        out.add(evidence_id, text, tool="get_order_details")
    return out


def fresh(*items: tuple[str, str]) -> EvidenceSet:
    """The same items, none of them indexed before."""
    evidence_clauses._text_item.cache_clear()
    evidence_clauses._json_item.cache_clear()
    return evidence(*items)


def test_a_set_of_items_seen_before_reads_as_one_built_from_scratch() -> None:
    evidence(("doc:1", POLICY), ("tool:1", ORDER))  # indexed once, in another mix
    big = ("doc:3", "\n".join([POLICY] * (MAX_SHARED_CHARS // len(POLICY) + 1)))
    items = (("doc:2", "Gift cards never expire."), ("doc:1", POLICY), ("tool:1", ORDER), big)
    shared = evidence(*items, ("tool:2", USER))
    assert shared.index == SourceIndex.build(shared.texts, shared.records)
    assert shared.index.sentences[0].source == "doc:2"  # passages first, then records
    assert shared.index.schedule  # the order's hours, as the whole build finds them
    new = fresh(*items, ("tool:2", USER))
    assert shared.clauses == new.clauses and shared.clauses
    assert shared.sentences == new.sentences
    assert shared.sharing(["cancel"]) == new.sharing(["cancel"]) != []
    assert shared.counts == new.counts


def test_one_id_as_both_text_and_record_is_indexed_together() -> None:
    both = evidence(("x", POLICY), ("x", ORDER))
    assert set(both.texts) == set(both.records) == {"x"}
    assert both.index == SourceIndex.build(both.texts, both.records)
    assert both.clauses == fresh(("x", POLICY), ("x", ORDER)).clauses


def test_each_set_keeps_its_own_records() -> None:
    first = evidence(("tool:1", ORDER))
    second = evidence(("tool:1", ORDER))
    assert first.index.records[0] is first.records["tool:1"]
    second.records["tool:1"]["status"] = "delivered"
    assert first.index.records[0]["status"] == "pending"
    assert second.index.records[0]["status"] == "delivered"


def test_a_record_added_directly_is_indexed_from_itself() -> None:
    direct = EvidenceSet()
    direct.add("tool:1", ORDER)
    direct.add_record("tool:1", {"status": "delivered"})  # replaces what the text said
    assert direct.index == SourceIndex.build({}, {"tool:1": {"status": "delivered"}})


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Order #W4566809 is pending [tool:3].", None),
        ("Order #W4566809 is p\u0435nding.", "p\u0435nding"),  # a Cyrillic e
        ("The \u03bfrder is pending.", "\u03bfrder"),  # a Greek omicron
        ("Order \u00e9t\u00e9 pending, \u0437\u0430\u043a\u0430\u0437 ok.", None),  # each alone
    ],
)
def test_only_text_beyond_ascii_is_scanned_for_mixed_scripts(text: str, found: str | None) -> None:
    assert mixed_script(text) == found
