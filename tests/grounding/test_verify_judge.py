"""The second stage: a model judges claims the rules leave open, and the harness can measure it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tether.cli.eval import JUDGE_BAND, JudgedDetector
from tether.core.errors import ErrorCode, TetherError
from tether.grounding.detector import HallucinationDetector
from tether.grounding.judge import ModelClaimJudge, judge_prompt, parse_verdict
from tether.grounding.ragtruth import Example
from tether.grounding.sources import SourceIndex
from tether.grounding.verify import ClaimVerifier
from tether.models.scripted import ScriptedModel, parse_script

PASSAGE = "The museum opened in 1901. Its west wing holds the city's collection of maps."


def scripted_judge(*verdicts: str) -> ModelClaimJudge:
    turns = [{"answer": json.dumps({"verdict": v, "reason": f"judged {v}"})} for v in verdicts]
    return ModelClaimJudge(ScriptedModel(parse_script(turns)))


def test_the_judge_decides_claims_the_rules_leave_open() -> None:
    judge = scripted_judge("contradicted")
    verifier = ClaimVerifier(judge)
    index = SourceIndex.build({"kb:museum#0": PASSAGE})
    # thin overlap and nothing concrete to check: the rules cannot decide
    result = verifier.verify("The west wing is closed for repairs this winter.", index)
    (claim,) = result.claims
    assert claim.decided_by == "model:scripted"
    assert claim.status == "contradicted"
    assert claim.reasons == ("judged contradicted",)
    assert judge.calls == 1


def test_the_judge_is_not_asked_when_the_rules_are_decisive() -> None:
    judge = scripted_judge("supported")
    verifier = ClaimVerifier(judge)
    index = SourceIndex.build({"kb:museum#0": PASSAGE})
    result = verifier.verify("The museum opened in 1899.", index)
    assert [c.decided_by for c in result.claims] == ["rules"]
    assert result.claims[0].status == "contradicted"
    assert judge.calls == 0


def test_the_prompt_carries_the_evidence_and_the_claim() -> None:
    prompt = judge_prompt("It opened in 1901.", ["The museum opened in 1901.", "Maps."])
    assert prompt.index("[1] The museum opened in 1901.") < prompt.index("Claim: It opened")
    assert "[2] Maps." in prompt


def test_verdicts_are_read_from_json_or_words_and_nonsense_is_an_error() -> None:
    assert parse_verdict('{"verdict": "Supported", "reason": "stated"}').status == "supported"
    assert parse_verdict("I think this is UNSUPPORTED by [1].").status == "unsupported"
    with pytest.raises(TetherError) as caught:
        parse_verdict("maybe?")
    assert caught.value.code is ErrorCode.MODEL_BAD_OUTPUT


def test_the_harness_sends_only_undecided_responses_to_the_judge() -> None:
    detector = HallucinationDetector.packaged()
    record: dict[str, Any] = {
        "name": "Harbor Grill",
        "attributes": {"OutdoorSeating": False},
        "review_info": [{"review_text": "Good tacos."}],
    }
    example = Example("data2txt", "1", record, "Harbor Grill offers outdoor seating.", True)
    judge = scripted_judge()  # any call would exhaust the empty script
    judged = JudgedDetector(detector, ClaimVerifier(judge))
    score = detector.detect(example.task, example.source, example.response).score
    if abs(score - detector.threshold) > JUDGE_BAND:
        assert judged(example) == (score >= detector.threshold)
        assert judge.calls == 0
    # force every response into the band: the judge's verdicts now decide
    detector.threshold = score
    contradicting = scripted_judge("contradicted", "contradicted", "contradicted")
    assert JudgedDetector(detector, ClaimVerifier(contradicting))(example) is True
