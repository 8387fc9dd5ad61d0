"""Claim verification: claims split with their spans, judged against passages and records, and
the answer check that denies a contradicted or unsupported answer with the evidence shown."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tether.core.errors import ErrorCode, TetherError
from tether.core.guard import GuardContext
from tether.core.types import Agent, Effect, Evidence, ModelTurn, Principal, TurnKind
from tether.grounding.claims import clock_times, numbers, split_claims
from tether.grounding.sources import SourceIndex
from tether.grounding.verify import ClaimCheck, ClaimVerifier

REFUNDS = (
    "Refunds. A refund to a credit card takes 5 to 7 business days. "
    "A refund to a gift card is credited at once. Orders can be cancelled only while pending."
)
LISTING: dict[str, Any] = {
    "name": "Harbor Grill",
    "hours": {"Tuesday": "11:0-21:0", "Wednesday": "11:0-21:0", "Sunday": "10:0-15:0"},
    "attributes": {
        "OutdoorSeating": False,
        "WiFi": "free",
        "Music": None,
        "BusinessParking": {"street": True, "garage": False, "lot": False},
        "Ambience": {"casual": True, "romantic": False},
    },
    "business_stars": 4.5,
    "review_info": [{"review_text": "Great fish tacos and a friendly crew."}],
}


def verify(answer: str, texts: dict[str, str] | None = None, record: Any = None) -> list[str]:
    index = SourceIndex.build(texts, {"record": record} if record is not None else None)
    return [c.status for c in ClaimVerifier().verify(answer, index).claims]


def test_claims_keep_their_spans_and_drop_bullets_and_abbreviation_breaks() -> None:
    text = "Dr. Lee runs the shop on Main St. in Goleta.\n1. Open the app.\n- Pay $12.50 now!"
    claims = split_claims(text)
    assert [c.text for c in claims] == [
        "Dr. Lee runs the shop on Main St. in Goleta.",
        "Open the app.",
        "Pay $12.50 now!",
    ]
    assert all(text[c.start : c.end] == c.text for c in claims)


def test_quantities_and_clock_times_are_read_in_their_usual_forms() -> None:
    assert numbers("thirty-one people paid $1,200.50 for 2 million stamps") == [
        1200.5,
        2_000_000.0,
        31.0,
    ]
    assert clock_times("from 9 AM to 5:30 p.m., or 21:00") == [540, 1050, 1260]


def test_a_wrong_refund_timeline_is_contradicted_with_the_sentence_it_contradicts() -> None:
    index = SourceIndex.build({"kb:refunds#0": REFUNDS})
    result = ClaimVerifier().verify("A refund to a credit card takes 2 to 3 business days.", index)
    (claim,) = result.claims
    assert claim.status == "contradicted"
    span = claim.evidence[0]
    assert span["source"] == "kb:refunds#0"
    assert REFUNDS[span["start"] : span["end"]] == span["text"]
    assert "5 to 7 business days" in span["text"]
    assert result.groundedness == 0.0


def test_a_faithful_answer_is_fully_grounded() -> None:
    index = SourceIndex.build({"kb:refunds#0": REFUNDS})
    answer = "A refund to a credit card takes 5 to 7 business days [kb:refunds#0]."
    result = ClaimVerifier().verify(answer, index)
    assert [c.status for c in result.claims] == ["supported"]
    assert result.groundedness == 1.0


def test_names_and_flipped_polarity_the_evidence_never_states() -> None:
    texts = {"kb:refunds#0": REFUNDS}
    assert verify("A refund to a gift card is not credited at once.", texts) == ["contradicted"]
    assert verify("Refunds are handled by Stripe and FedEx couriers.", texts) == ["unsupported"]


def test_record_attributes_are_judged_by_their_values() -> None:
    assert verify("The grill offers outdoor seating.", record=LISTING) == ["contradicted"]
    assert verify("There is no outdoor seating, but WiFi is free.", record=LISTING) == ["supported"]
    assert verify("Guests can enjoy live music.", record=LISTING) == ["unsupported"]
    assert verify("Street parking is available, but there is no garage.", record=LISTING) == [
        "supported"
    ]
    assert verify("It has a romantic atmosphere.", record=LISTING) == ["contradicted"]


def test_opening_hours_are_checked_day_by_day() -> None:
    assert verify("Harbor Grill is open seven days a week.", record=LISTING) == ["contradicted"]
    assert verify("It is open on Sunday from 10 AM to 3 PM.", record=LISTING) == ["supported"]
    assert verify("On Tuesday it opens at 11 AM and closes at 11 PM.", record=LISTING) == [
        "contradicted"
    ]
    assert verify("It is open on Monday from 11 AM.", record=LISTING) == ["contradicted"]


def test_a_stated_field_value_must_match_the_record() -> None:
    order = {"order_id": "#W100", "status": "delivered"}
    assert verify("The status of order #W100 is pending.", record=order) == ["contradicted"]
    assert verify("The status of order #W100 is delivered.", record=order) == ["supported"]


def test_a_passage_named_for_a_claim_must_hold_it() -> None:
    texts = {
        "passage 1": "Porterhouse steaks contain more tenderloin than T-bone steaks.",
        "passage 2": "Sirloin comes from the rear back portion of the animal.",
    }
    assert verify("Porterhouse steaks contain more tenderloin (Passage 1).", texts) == ["supported"]
    assert verify("Porterhouse steaks contain more tenderloin (Passage 2).", texts) == [
        "contradicted"
    ]


def test_an_empty_answer_is_a_bad_request_and_small_talk_asserts_nothing() -> None:
    index = SourceIndex.build({"kb:refunds#0": REFUNDS})
    with pytest.raises(TetherError) as caught:
        ClaimVerifier().verify("   ", index)
    assert caught.value.code is ErrorCode.BAD_REQUEST
    result = ClaimVerifier().verify("Sure! I hope this helps!", index)
    assert result.claims == ()
    assert result.groundedness == 1.0


def context(evidence: list[Evidence]) -> GuardContext:
    class NoTools:
        def get(self, name: str) -> None:
            return None

    return GuardContext(
        run_id="run-1",
        principal=Principal("sara_doe_496"),
        agent=Agent("retail", "help", ()),
        tools=NoTools(),
        evidence={e.id: e for e in evidence},
    )


def answer(text: str, *cited: str) -> ModelTurn:
    return ModelTurn(TurnKind.ANSWER, text=text, citations=cited)


KB = Evidence("kb:refunds#0", "kb://retail/refunds.md", REFUNDS)
ORDER = Evidence(
    "tool:1", "tool:get_order_details", json.dumps({"order_id": "#W100", "status": "pending"})
)


def test_the_check_denies_a_hallucinated_policy_claim_and_shows_the_evidence() -> None:
    turn = answer("Your refund will reach your credit card in 24 hours [kb:refunds#0].", KB.id)
    verdict = ClaimCheck()(context([KB, ORDER]), turn)
    assert verdict.effect is Effect.DENY
    assert verdict.reasons[0].code in (ErrorCode.CLAIM_CONTRADICTED, ErrorCode.CLAIM_UNSUPPORTED)
    (failing,) = verdict.facts["failing"]
    assert failing["claim"].startswith("Your refund will reach")
    assert failing["evidence"][0]["source"] == "kb:refunds#0"
    assert verdict.facts["evidence"] == ["kb:refunds#0"]  # only what the answer cites


def test_the_check_reads_tool_outputs_as_records() -> None:
    wrong = ClaimCheck()(context([ORDER]), answer("The status of your order is delivered."))
    assert wrong.effect is Effect.DENY
    assert wrong.reasons[0].code is ErrorCode.CLAIM_CONTRADICTED
    right = ClaimCheck()(context([ORDER]), answer("The status of order #W100 is pending."))
    assert right.effect is Effect.ALLOW
    assert right.facts["groundedness"] == 1.0


def test_the_check_can_escalate_and_can_let_unsupported_claims_pass() -> None:
    turn = answer("Refunds are handled by Stripe.", KB.id)
    assert ClaimCheck(escalate=True)(context([KB]), turn).effect is Effect.ESCALATE
    lenient = ClaimCheck(deny_unsupported=False)(context([KB]), turn)
    assert lenient.effect is Effect.ALLOW
    assert lenient.facts["groundedness"] == 0.0


def test_the_check_leaves_tool_calls_and_evidence_free_runs_alone() -> None:
    calls = ModelTurn(TurnKind.TOOL_CALLS)
    assert ClaimCheck()(context([KB]), calls).effect is Effect.ALLOW
    bare = ClaimCheck()(context([]), answer("Hello there, how can I help?"))
    assert bare.effect is Effect.ALLOW
    assert bare.facts["checked"] == 0
