"""A record is read into facts once per verification and shared by every claim and check: the
shared reading must say exactly what a fresh one says, and the shortcuts that skip a check
must never skip one that would have found something."""

from __future__ import annotations

from collections import OrderedDict
from types import MappingProxyType
from typing import Any

from tether.core.types import Evidence
from tether.grounding.bindings import like_groups
from tether.grounding.facts import (
    CONTRADICTED,
    SUPPORTED,
    Fact,
    check_values,
    flatten,
    key_words,
    leaves,
    value_fields,
)
from tether.grounding.fields import FieldMap, FieldSpec, view
from tether.grounding.list_objects import leaf_values, objects
from tether.grounding.sources import SourceIndex
from tether.grounding.verifier import Verifier


class Opaque:
    def __str__(self) -> str:
        return "opaque"


def test_leaves_reads_every_json_shape_in_order() -> None:
    record: dict[str, Any] = {
        "id": 7,
        "ok": True,
        "gone": None,
        "price": 1.5,
        "tags": ["a", ("b", "c")],
        "empty": {},
        "nested": OrderedDict(x=MappingProxyType({"y": "z"})),
        3: Opaque(),
    }
    got = [(f.key, f.value) for f in leaves(record)]
    assert got == [
        ("id", 7),
        ("ok", True),
        ("gone", None),
        ("price", 1.5),
        ("tags.0", "a"),
        ("tags.1.0", "b"),
        ("tags.1.1", "c"),
        ("empty", None),
        ("nested.x.y", "z"),
        ("3", "opaque"),
    ]
    assert type(got[1][1]) is bool  # a flag stays a flag, not the int it subclasses
    assert list(flatten(record)) == leaves(record)
    # an empty mapping at the root has no leaf; a scalar at the root is one leaf
    assert leaves({}) == []
    assert leaves("x") == [Fact((), "x")]
    assert leaves([1], ("p",)) == [Fact(("p", "0"), 1)]


def test_key_words_are_a_fresh_list_each_time() -> None:
    words = key_words("paymentMethod_id")
    assert words == ["payment", "method", "id"]
    words.append("mutated")
    assert key_words("paymentMethod_id") == ["payment", "method", "id"]


ORDER = {"order_id": "#W1", "status": "delivered", "kind": "gift", "items": [{"name": "Lamp"}]}


def test_kept_value_fields_judge_as_a_fresh_reading() -> None:
    kept = value_fields(leaves(ORDER))
    for text in (
        "The status is pending.",
        "The status is delivered.",
        "The kind is gift and the status is delivered.",
        "Nothing about the record.",
    ):
        assert check_values(text, ORDER, kept) == check_values(text, ORDER)
    [found] = check_values("The status is pending.", ORDER, kept)
    assert (found.key, found.status) == ("status", CONTRADICTED)
    [found] = check_values("The status is delivered.", ORDER, kept)
    assert found.status == SUPPORTED


def test_a_field_named_with_letters_that_fold_to_ascii_is_still_checked() -> None:
    # U+212A KELVIN SIGN and U+017F LONG S match "k" and "s" case-insensitively, although
    # lower-casing keeps them: a text that is not ASCII is never skipped on its lower case
    for text in ("The \u212aind is card.", "The \u017ftatus is pending."):
        [found] = check_values(text, ORDER)
        assert found.status == CONTRADICTED, text


def test_the_index_reads_each_record_once_and_tells_records_apart() -> None:
    other = {"status": "pending"}
    index = SourceIndex.build(records={"a": ORDER, "b": other})
    first = index.value_fields(ORDER)
    assert index.value_fields(ORDER) is first
    assert first == value_fields(leaves(ORDER))
    assert index.value_fields(other) == value_fields(leaves(other))
    assert index.value_fields(other) != first


def test_a_view_flattens_its_record_once_and_keeps_its_ids() -> None:
    maps = (FieldMap("get_order", (FieldSpec("order_id", "id"),), key="order_id"),)
    v = view("tool:1", ORDER, maps, "get_order")
    assert v.ids == ("#W1",)
    assert v.facts == tuple(leaves(ORDER))
    assert v.noun == "order"


def test_one_verifier_judges_one_record_the_same_answer_after_answer() -> None:
    verifier = Verifier()
    evidence = [Evidence("tool:1", "tool:get", '{"order_id": "W123", "status": "delivered"}')]
    wrong = "Order W123 status is pending."
    first = verifier.verify_items(wrong, evidence)
    again = verifier.verify_items(wrong, evidence)
    right = verifier.verify_items("Order W123 status is delivered.", evidence)
    assert [c.status for c in first.claims] == [CONTRADICTED]
    assert first.flagged and again.flagged and not right.flagged
    assert first.to_dict() == again.to_dict()


def _groups_read_one_by_one(record: dict[Any, Any]) -> list[list[Any]]:
    """The groups of like objects as each object's own leaves give them (the reference)."""
    groups: dict[str, list[Any]] = {}
    for path, obj in objects(record):
        found = leaf_values(obj)
        if len(found) >= 2:
            parent = path.rsplit(".", 1)[0] if "." in path else ""
            groups.setdefault(parent, []).append((path, found, obj))
    return [
        g
        for g in groups.values()
        if (len(g) >= 2 and set.intersection(*(set(o) for _, _, o in g)))
        or (len(g) == 1 and g[0][0].rsplit(".", 1)[-1].isdigit())
    ]


def test_like_objects_read_off_one_flattening_match_reading_each_object() -> None:
    records: list[dict[Any, Any]] = [
        {
            "items": [
                {"name": "Lamp", "price": 9.5, "options": {"color": "black", "size": "12"}},
                {"name": "Kettle", "price": 20, "options": {"color": "white", "code": "12345"}},
            ],
            "address": {"city": "Austin", "zip": "78701", "deep": {"a": {"b": {"c": "x"}}}},
            "a.b": {"c": "dotted", "d": "key"},
            "a": {"b": {"c": "nested", "d": "key"}},
            "empty": {},
            "tuple": ({"name": "in a tuple", "kind": "t"},),
        },
        # 1 and "1" read the same as paths: the objects are read one by one
        {1: {"name": "one", "kind": "int"}, "1": ["y", "z"], "2": {"name": "two", "kind": "s"}},
        {"list": [{"n": str(i), "v": "x"} for i in range(205)]},
    ]
    for record in records:
        assert like_groups(record) == _groups_read_one_by_one(record)
    assert like_groups(records[1])[0][0][1] == {"name": "one", "kind": "int"}


def _nested(levels: int, innermost: Any) -> Any:
    """`levels` containers, dicts and lists in turn, each beside scalars that add no depth."""
    node = innermost
    for n in range(levels):
        node = {"k": node, "s": "x", "n": 1, "b": None} if n % 2 else [1.5, node, "y", True]
    return node


def test_how_deep_a_record_may_nest_is_counted_by_containers_only() -> None:
    from tether.grounding.evidence_set import MAX_DEPTH, EvidenceSet

    for innermost in ("leaf", {}, []):
        # an empty container is a level of its own; a scalar is none
        levels = MAX_DEPTH - 1 - (innermost != "leaf")
        fits, too_deep = EvidenceSet(), EvidenceSet()
        fits.add_record("r", _nested(levels, {"last": innermost}))
        too_deep.add_record("r", _nested(levels + 1, {"last": innermost}))
        assert "r" in fits.records and not fits.problems
        assert "r" not in too_deep.records
        assert too_deep.problems == [f"r: EVIDENCE_SHAPE (nested deeper than {MAX_DEPTH})"]


def test_the_timing_shortcut_skips_only_text_that_states_no_timing() -> None:
    from tether.grounding.timings import has_timing, timings

    stated = [
        "Refunds take 5 to 7 business days.",
        "It ships within two WEEKS.",
        "Credited immediately.",
        "We can do it right away.",
        "Delivered at once.",
        "Tracking is real-time.",
        "Sent without delay.",
        "It arrives tomorrow.",
        "It arrived last night.",
        "Paid yesterday.",
        "It shipped next Friday.",
        "3 months ago.",
        "Within 48 hours.",
        "It takes 5 wee\u212as.",  # KELVIN SIGN: "weeks" to a case-blind match
        "Credited in\u017ftantly.",  # LONG S: "instantly", though lower case keeps it
    ]
    for text in stated:
        assert timings(text) and has_timing(text), text
    for text in ("The order is pending.", "Your card ending 4242 was charged $12.", ""):
        assert timings(text) == [] and not has_timing(text), text
