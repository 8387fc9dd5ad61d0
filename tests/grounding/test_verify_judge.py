"""The model stage: a judge decides only the claims the rules leave uncertain, on the run path
and in the harness alike."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tether.core.errors import ErrorCode, TetherError
from tether.grounding.evidence_set import EvidenceSet
from tether.grounding.judge import ModelClaimJudge, judge_prompt, parse_verdict
from tether.grounding.verifier import Verifier, VerifierConfig
from tether.models.scripted import ScriptedModel, parse_script

PASSAGE = "The museum opened in 1901. Its west wing holds the city's collection of maps."


def scripted_judge(*verdicts: str) -> ModelClaimJudge:
    turns = [{"answer": json.dumps({"verdict": v, "reason": f"judged {v}"})} for v in verdicts]
    return ModelClaimJudge(ScriptedModel(parse_script(turns)))


def museum() -> EvidenceSet:
    evidence = EvidenceSet()
    evidence.add("kb:museum#0", PASSAGE)
    return evidence


def test_the_judge_decides_claims_the_rules_leave_open() -> None:
    judge = scripted_judge("contradicted")
    # thin overlap and nothing concrete to check: the rules cannot decide
    result = Verifier(judge=judge).verify(
        "The west wing is closed for repairs this winter.", museum()
    )
    (claim,) = result.claims
    assert claim.decided_by == "model:scripted"
    assert claim.status == "contradicted"
    assert claim.reasons == ("judged contradicted",)
    assert judge.calls == 1
    assert result.judge_records[0]["status"] == "contradicted"


def test_without_a_judge_an_open_claim_takes_the_configured_fallback() -> None:
    claim = "The west wing is closed for repairs this winter."
    (default,) = Verifier().verify(claim, museum()).claims
    assert (default.status, default.decided_by) == ("unsupported", "fallback")
    lenient = Verifier(VerifierConfig(fallback="supported")).verify(claim, museum())
    assert [(c.status, c.decided_by) for c in lenient.claims] == [("supported", "fallback")]


def test_the_judge_is_not_asked_when_the_rules_are_decisive() -> None:
    judge = scripted_judge("supported")
    result = Verifier(judge=judge).verify("The museum opened in 1899.", museum())
    assert [c.decided_by for c in result.claims] == ["rules"]
    assert result.claims[0].status == "contradicted"
    assert result.flagged
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


def test_the_harness_path_asks_the_judge_only_for_open_claims_of_a_record() -> None:
    record: dict[str, Any] = {
        "name": "Harbor Grill",
        "attributes": {"OutdoorSeating": False},
        "review_info": [{"review_text": "Good tacos."}],
    }
    judge = scripted_judge()  # any call would exhaust the empty script
    verifier = Verifier(VerifierConfig(profile="listings"), judge=judge)
    result = verifier.verify_source("data2txt", record, "Harbor Grill offers outdoor seating.")
    assert result.flagged
    assert [(c.status, c.decided_by) for c in result.claims] == [("contradicted", "rules")]
    assert judge.calls == 0
