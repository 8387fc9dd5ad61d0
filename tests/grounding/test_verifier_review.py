"""The verifier fails closed on odd input and never lets a contradicted claim through: numbers
too large for a float, NaN and infinity in records, a contradiction wrapped in courtesy or a
question, a claim its judge contradicts or could not judge, an operating point out of range,
and verdict facts too large to store."""

from __future__ import annotations

import json
import math

from tests.grounding.common import context
from tether.core.types import Agent, Effect, Evidence, ModelTurn, TurnKind
from tether.grounding.claims import number_matches
from tether.grounding.judge import JudgeVerdict
from tether.grounding.verifier import Verifier, VerifierConfig
from tether.grounding.verify import ClaimCheck
from tether.policy.sentences import assertive_sentences

PASSAGE = "The museum opened in 1901. Its west wing holds the city's collection of maps."
MUSEUM = Evidence("kb:museum#0", "kb://museum", PASSAGE)
OPEN_CLAIM = "The west wing is closed for repairs this winter."  # the rules cannot decide it
# an unseen name and year: unsupported, flagged only by the calibrated score
SCORED_CLAIM = "The museum has a cafe run by Anna Berg since 2011."


def order(**fields: object) -> Evidence:
    record = {"order_id": "#W1234567", "status": "pending", **fields}
    return Evidence("tool:order#0", "tool:get_order_details", json.dumps(record))


def answer(text: str) -> ModelTurn:
    return ModelTurn(TurnKind.ANSWER, text)


class StubJudge:
    """A judge that always answers `status`, or raises."""

    name = "stub"

    def __init__(self, status: str) -> None:
        self.status = status

    def judge(self, claim: str, evidence: object) -> JudgeVerdict:
        if self.status == "raise":
            raise RuntimeError("the judge broke")
        return JudgeVerdict(self.status, "stub verdict")


def test_a_number_too_large_for_a_float_is_flagged_not_raised() -> None:
    huge = "9" * 400  # parses to float infinity
    for evidence in (MUSEUM, order(total=54.1)):
        result = Verifier().verify_items(f"The museum opened in {huge}.", [evidence])
        assert result.flagged
        verdict = ClaimCheck()(context([evidence]), answer(f"It holds {huge} maps."))
        assert verdict.effect is Effect.DENY


def test_a_passage_with_a_number_too_large_for_a_float_is_checked() -> None:
    passage = Evidence("kb:fund#0", "kb://fund", f"The fund holds {'9' * 400} coins.")
    result = Verifier().verify_items("The fund opened in 1902.", [passage])
    # checked, not crashed: the year the passage never states is unsupported
    assert [c.status for c in result.claims] == ["unsupported"]
    assert result.code is None


def test_nan_and_infinity_in_a_record_do_not_crash_the_check() -> None:
    for raw in ("NaN", "Infinity", "-Infinity"):
        # json.dumps writes these for float nan and inf; json.loads reads them back
        text = '{"order_id": "#W1234567", "status": "pending", "total": ' + raw + "}"
        evidence = Evidence("tool:order#0", "tool:get_order_details", text)
        verdict = ClaimCheck()(
            context([evidence]), answer("Order #W1234567 is pending with 3 items.")
        )
        assert verdict.check == "claims"  # a verdict of the check itself, not an exception


def test_an_infinite_record_value_matches_no_stated_amount() -> None:
    assert not number_matches(12.5, {math.inf})
    assert not number_matches(12.5, {-math.inf})


def test_a_courtesy_opening_does_not_hide_a_contradicted_status() -> None:
    evidence = order(total=54.1)
    plain = "Order #W1234567 has been delivered."
    assert Verifier().verify_items(plain, [evidence]).flagged
    for text in (f"Thanks, {plain[0].lower()}{plain[1:]}", f"Happy to help: {plain}"):
        result = Verifier().verify_items(text, [evidence])
        assert result.flagged, text
        check = ClaimCheck(assertive=assertive_sentences)
        assert check(context([evidence]), answer(text)).effect is Effect.DENY, text


def test_a_trailing_question_does_not_hide_a_contradicted_year() -> None:
    result = Verifier().verify_items("The museum opened in 1950, did you know?", [MUSEUM])
    assert result.flagged


def test_a_claim_the_judge_contradicts_flags_the_answer() -> None:
    result = Verifier(judge=StubJudge("contradicted")).verify_items(OPEN_CLAIM, [MUSEUM])
    assert [c.status for c in result.claims] == ["contradicted"]
    assert result.flagged


def test_a_judge_that_fails_never_allows_even_with_a_lenient_fallback() -> None:
    lenient = VerifierConfig(fallback="supported")
    result = Verifier(lenient, judge=StubJudge("raise")).verify_items(OPEN_CLAIM, [MUSEUM])
    assert result.code == "JUDGE_FAILED"
    assert result.flagged


def test_an_operating_point_out_of_range_fails_closed() -> None:
    assert Verifier().verify_items(SCORED_CLAIM, [MUSEUM]).flagged
    for point in (math.nan, 1.5):
        result = Verifier().verify_items(SCORED_CLAIM, [MUSEUM], operating_point=point)
        assert result.flagged, point
        agent = Agent("museum", "help", (), verifier_operating_point=point)
        verdict = ClaimCheck()(context([MUSEUM], agent), answer(SCORED_CLAIM))
        assert verdict.effect is not Effect.ALLOW, point
        json.dumps(verdict.to_dict(), allow_nan=False)  # facts are stored as JSON


def test_the_facts_of_a_verdict_stay_small_enough_to_store() -> None:
    # one long evidence item without a sentence break, and many short claims it covers
    body = " ".join(f"the west wing holds maps number {i} and atlases" for i in range(2000))
    evidence = Evidence("kb:wing#0", "kb://wing", body[:95_000])
    text = " ".join("The west wing holds maps and atlases." for _ in range(400))
    verdict = ClaimCheck()(context([evidence]), answer(text))
    size = len(json.dumps(verdict.to_dict(), default=str))
    assert size < 1_000_000, f"{size} bytes of facts"
