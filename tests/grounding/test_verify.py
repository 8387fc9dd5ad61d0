"""Claim verification: claims split with their spans, checked against passages and records by
the run-path `Verifier`, and the answer check that denies a flagged answer with the evidence
shown."""

from __future__ import annotations

import json
from typing import Any

from tests.grounding.common import context
from tether.core.errors import ErrorCode
from tether.core.types import Effect, Evidence, ModelTurn, TurnKind
from tether.grounding.claims import clock_times, numbers, split_claims
from tether.grounding.evidence_set import EvidenceSet
from tether.grounding.verifier import Verification, Verifier, VerifierConfig
from tether.grounding.verify import ClaimCheck

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
LISTINGS = Verifier(VerifierConfig(profile="listings"))


def passages(texts: dict[str, str]) -> EvidenceSet:
    evidence = EvidenceSet()
    for key, text in texts.items():
        evidence.add(key, text)
    return evidence


def run(answer: str, texts: dict[str, str] | None = None, record: Any = None) -> Verification:
    if record is not None:
        return LISTINGS.verify(answer, EvidenceSet.from_source("data2txt", record))
    return Verifier().verify(answer, passages(texts or {}))


def verify(answer: str, texts: dict[str, str] | None = None, record: Any = None) -> list[str]:
    return [c.status for c in run(answer, texts, record).claims]


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
    result = run("A refund to a credit card takes 2 to 3 business days.", {"kb:refunds#0": REFUNDS})
    (claim,) = result.claims
    assert claim.status == "contradicted"
    assert claim.field == "kb:refunds#0"
    span = claim.evidence[0]
    assert span["source"] == "kb:refunds#0"
    assert REFUNDS[span["start"] : span["end"]] == span["text"]
    assert "5 to 7 business days" in span["text"]
    assert result.groundedness == 0.0
    assert result.flagged


def test_a_faithful_answer_is_fully_grounded() -> None:
    answer = "A refund to a credit card takes 5 to 7 business days [kb:refunds#0]."
    result = run(answer, {"kb:refunds#0": REFUNDS})
    assert [c.status for c in result.claims] == ["supported"]
    assert [c.decided_by for c in result.claims] == ["rules"]
    assert result.groundedness == 1.0
    assert not result.flagged


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
    seating = run("The grill offers outdoor seating.", record=LISTING).claims[0]
    assert seating.field == "record:attributes.OutdoorSeating"


def test_opening_hours_are_checked_day_by_day() -> None:
    assert verify("Harbor Grill is open seven days a week.", record=LISTING) == ["contradicted"]
    assert verify("It is open on Sunday from 10 AM to 3 PM.", record=LISTING) == ["supported"]
    assert verify("On Tuesday it opens at 11 AM and closes at 11 PM.", record=LISTING) == [
        "contradicted"
    ]
    assert verify("It is open on Monday from 11 AM.", record=LISTING) == ["contradicted"]


def test_a_stated_field_value_must_match_the_record() -> None:
    order = {"order_id": "#W100", "status": "delivered"}
    wrong = run("The status of order #W100 is pending.", record=order)
    assert [c.status for c in wrong.claims] == ["contradicted"]
    assert wrong.claims[0].field == "record:status"
    assert wrong.flagged
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


def test_an_empty_answer_is_coded_and_small_talk_asserts_nothing() -> None:
    texts = {"kb:refunds#0": REFUNDS}
    empty = run("   ", texts)
    assert (empty.code, empty.flagged, empty.claims) == ("ANSWER_EMPTY", False, ())
    result = run("Sure! I hope this helps!", texts)
    assert result.claims == ()
    assert result.groundedness == 1.0
    assert not result.flagged


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
    assert verdict.reasons[0].code is ErrorCode.CLAIM_CONTRADICTED
    (failing,) = verdict.facts["failing"]
    assert failing["claim"].startswith("Your refund will reach")
    assert failing["evidence"][0]["source"] == "kb:refunds#0"
    assert verdict.facts["evidence"] == ["kb:refunds#0"]  # only what the answer cites


def test_the_check_reads_tool_outputs_as_records() -> None:
    wrong = ClaimCheck()(context([ORDER]), answer("The status of your order is delivered."))
    assert wrong.effect is Effect.DENY
    assert wrong.reasons[0].code is ErrorCode.CLAIM_CONTRADICTED
    assert wrong.facts["failing"][0]["field"] == "tool:1:status"
    right = ClaimCheck()(context([ORDER]), answer("The status of order #W100 is pending."))
    assert right.effect is Effect.ALLOW
    assert right.facts["groundedness"] == 1.0


def test_the_check_can_escalate_and_only_a_strict_verifier_stops_an_unsupported_name() -> None:
    turn = answer("Refunds are handled by Stripe.", KB.id)
    strict = ClaimCheck(Verifier(VerifierConfig(strict=True)), escalate=True)(context([KB]), turn)
    assert strict.effect is Effect.ESCALATE
    assert strict.reasons[0].code is ErrorCode.CLAIM_UNSUPPORTED
    lenient = ClaimCheck()(context([KB]), turn)
    assert lenient.effect is Effect.ALLOW
    assert lenient.facts["groundedness"] == 0.0
    assert lenient.facts["claims"][0]["status"] == "unsupported"


def test_the_check_leaves_tool_calls_and_evidence_free_runs_alone() -> None:
    calls = ModelTurn(TurnKind.TOOL_CALLS)
    assert ClaimCheck()(context([KB]), calls).effect is Effect.ALLOW
    bare = ClaimCheck()(context([]), answer("Hello there, how can I help?"))
    assert bare.effect is Effect.ALLOW
    assert bare.facts["checked"] == 0
