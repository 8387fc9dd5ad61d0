"""The model judge stage fails safe (every failure is an `uncertain` verdict with a stable code,
never an allow and never a crash) and replays: recorded verdicts answer again, without a model."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence

import pytest

from tether.core.errors import ErrorCode, TetherError
from tether.core.types import ModelTurn, TurnKind
from tether.grounding.judge import (
    JUDGE_PROMPT_VERSION,
    MAX_LINGERING,
    UNCERTAIN,
    FailSafeJudge,
    JudgeVerdict,
    ModelClaimJudge,
    RecordingJudge,
    ReplayJudge,
    judge_key,
    parse_verdict,
)
from tether.models.base import ModelRequest
from tether.models.scripted import ScriptedModel, parse_script

CLAIM = "The west wing is closed for repairs this winter."
EVIDENCE = ["The museum opened in 1901.", "Its west wing holds the city's maps."]


def scripted(*answers: str) -> ScriptedModel:
    return ScriptedModel(parse_script([{"answer": a} for a in answers]))


def verdict_json(word: str) -> str:
    return json.dumps({"verdict": word, "reason": f"judged {word}"})


class SlowModel:
    """An adapter that hangs until released (or `seconds` pass)."""

    name = "slow"

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.release = threading.Event()

    def propose(self, request: ModelRequest) -> ModelTurn:
        self.release.wait(self.seconds)
        return ModelTurn(TurnKind.ANSWER, text=verdict_json("supported"))


class FailingModel:
    """An adapter whose every call raises `error`."""

    name = "failing"

    def __init__(self, error: Exception) -> None:
        self.error = error

    def propose(self, request: ModelRequest) -> ModelTurn:
        raise self.error


def test_a_verdict_carries_the_prompt_version_and_the_judge() -> None:
    verdict = ModelClaimJudge(scripted(verdict_json("contradicted"))).judge(CLAIM, EVIDENCE)
    assert verdict == JudgeVerdict(
        "contradicted", "judged contradicted", None, "model:scripted", JUDGE_PROMPT_VERSION
    )
    assert verdict.to_dict() == {
        "status": "contradicted",
        "reason": "judged contradicted",
        "code": None,
        "judge": "model:scripted",
        "prompt_version": JUDGE_PROMPT_VERSION,
    }
    assert JUDGE_PROMPT_VERSION.startswith("claim-judge/")


def test_a_hung_model_is_uncertain_within_the_deadline() -> None:
    sleep = 5.0
    model = SlowModel(sleep)
    judge = ModelClaimJudge(model, timeout_s=0.2)
    try:
        started = time.monotonic()
        verdict = judge.judge(CLAIM, EVIDENCE)
        elapsed = time.monotonic() - started
    finally:
        model.release.set()
    assert verdict.status == UNCERTAIN
    assert verdict.code is ErrorCode.JUDGE_TIMEOUT
    assert "0.2 s" in verdict.reason
    assert elapsed / sleep < 0.3  # bounded by the deadline, not by the model


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (TetherError(ErrorCode.MODEL_UNAVAILABLE, "connection refused"), ErrorCode.JUDGE_FAILED),
        (TetherError(ErrorCode.MODEL_TIMEOUT, "no answer in 60 s"), ErrorCode.JUDGE_TIMEOUT),
        (TetherError(ErrorCode.MODEL_BAD_OUTPUT, "not JSON"), ErrorCode.JUDGE_BAD_OUTPUT),
        (RuntimeError("adapter bug"), ErrorCode.JUDGE_FAILED),
    ],
)
def test_model_errors_and_exceptions_are_uncertain(error: Exception, code: ErrorCode) -> None:
    verdict = ModelClaimJudge(FailingModel(error)).judge(CLAIM, EVIDENCE)
    assert (verdict.status, verdict.code) == (UNCERTAIN, code)
    assert verdict.judge == "model:failing"
    marker = error.code.value if isinstance(error, TetherError) else "RuntimeError"
    assert marker in verdict.reason


def test_an_exhausted_script_is_uncertain_not_a_crash() -> None:
    judge = ModelClaimJudge(scripted())
    verdict = judge.judge(CLAIM, EVIDENCE)
    assert (verdict.status, verdict.code) == (UNCERTAIN, ErrorCode.JUDGE_FAILED)
    assert "MODEL_SCRIPT_EXHAUSTED" in verdict.reason
    assert judge.calls == 1


@pytest.mark.parametrize(
    "text",
    [
        "maybe?",  # no verdict
        '{"verdict": "plausible", "reason": "it sounds right"}',  # a word outside the set
        '{"verdict": "maybe", "reason": "not unsupported"}',  # the reason is no verdict
        '{"reason": "supported by [1]"}',  # an object without a verdict
        "It is supported by [1], though [2] contradicted it.",  # prose that says both
        "Partly supported, partly unsupported.",
        "This claim is not supported by the evidence.",  # negated: which verdict is meant?
        "The evidence isn't contradicted here.",
        "   ",  # nothing said
    ],
)
def test_garbage_output_is_uncertain(text: str) -> None:
    verdict = ModelClaimJudge(scripted(text)).judge(CLAIM, EVIDENCE)
    assert (verdict.status, verdict.code) == (UNCERTAIN, ErrorCode.JUDGE_BAD_OUTPUT)
    with pytest.raises(TetherError) as caught:
        parse_verdict(text)
    assert caught.value.code is ErrorCode.MODEL_BAD_OUTPUT


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ('{"verdict": "Supported", "reason": "stated in [1]"}', "supported"),
        ('Sure: {"verdict": "contradicted", "reason": "[1] says 1901, not unsupported"}', "contradicted"),
        ("UNSUPPORTED: the evidence does not say.", "unsupported"),
        ("Verdict: contradicted (the record says otherwise).", "contradicted"),
    ],
)  # fmt: skip
def test_one_clear_verdict_is_read(text: str, status: str) -> None:
    assert parse_verdict(text).status == status
    assert ModelClaimJudge(scripted(text)).judge(CLAIM, EVIDENCE).status == status


class RaisingJudge:
    name = "nli:raising"

    def judge(self, claim: str, evidence: Sequence[str]) -> JudgeVerdict:
        raise ValueError("tensor shape")


class OddJudge:
    name = "nli:odd"

    def judge(self, claim: str, evidence: Sequence[str]) -> JudgeVerdict:
        return JudgeVerdict("probably")


def test_any_judge_can_be_made_fail_safe() -> None:
    raising = FailSafeJudge(RaisingJudge()).judge(CLAIM, EVIDENCE)
    assert (raising.status, raising.code, raising.judge) == (
        UNCERTAIN,
        ErrorCode.JUDGE_FAILED,
        "nli:raising",
    )
    odd = FailSafeJudge(OddJudge()).judge(CLAIM, EVIDENCE)
    assert (odd.status, odd.code) == (UNCERTAIN, ErrorCode.JUDGE_BAD_OUTPUT)
    model = SlowModel(5.0)
    try:
        started = time.monotonic()
        slow = FailSafeJudge(ModelClaimJudge(model, timeout_s=10.0), timeout_s=0.2)
        verdict = slow.judge(CLAIM, EVIDENCE)
        assert (time.monotonic() - started) / model.seconds < 0.3
    finally:
        model.release.set()
    assert (verdict.status, verdict.code, verdict.judge) == (
        UNCERTAIN,
        ErrorCode.JUDGE_TIMEOUT,
        "model:slow",
    )


def test_record_then_replay_gives_the_same_verdicts_without_a_model() -> None:
    model = scripted(verdict_json("contradicted"), "garbage", verdict_json("supported"))
    recording = RecordingJudge(ModelClaimJudge(model))
    claims = [(CLAIM, EVIDENCE), ("It opened in 1901.", EVIDENCE), ("It opened.", EVIDENCE[:1])]
    live = [recording.judge(c, e) for c, e in claims]
    assert [v.status for v in live] == ["contradicted", UNCERTAIN, "supported"]
    # asked again, the recording answers itself, so a replay can match the run exactly
    assert recording.judge(CLAIM, EVIDENCE) == live[0]
    records = recording.records()
    assert len(records) == 3
    assert records[0] == {
        "prompt_version": JUDGE_PROMPT_VERSION,
        "judge": "model:scripted",
        "key": judge_key(CLAIM, EVIDENCE),
        "status": "contradicted",
        "reason": "judged contradicted",
        "code": None,
    }
    assert records[1]["code"] == "JUDGE_BAD_OUTPUT"
    stored = json.loads(json.dumps(records))  # as written to, and read back from, a file
    replay = ReplayJudge(stored)
    assert replay.name == "model:scripted"
    assert [replay.judge(c, e) for c, e in claims] == live


def test_a_replay_miss_is_uncertain_and_never_calls_a_model() -> None:
    recording = RecordingJudge(ModelClaimJudge(scripted(verdict_json("supported"))))
    recording.judge(CLAIM, EVIDENCE)
    replay = ReplayJudge(recording.records())
    # the same claim with other evidence is another question
    missed = replay.judge(CLAIM, EVIDENCE[:1])
    assert (missed.status, missed.code) == (UNCERTAIN, ErrorCode.JUDGE_NOT_RECORDED)
    assert missed.judge == "model:scripted"
    # a verdict recorded under another prompt version does not answer this one
    older = [dict(r, prompt_version="claim-judge/1") for r in recording.records()]
    stale = ReplayJudge(older).judge(CLAIM, EVIDENCE)
    assert stale.code is ErrorCode.JUDGE_NOT_RECORDED
    empty = ReplayJudge([], name="model:x").judge(CLAIM, EVIDENCE)
    assert (empty.status, empty.code, empty.judge) == (
        UNCERTAIN,
        ErrorCode.JUDGE_NOT_RECORDED,
        "model:x",
    )


def test_replay_records_are_checked() -> None:
    good = {
        "prompt_version": JUDGE_PROMPT_VERSION,
        "judge": "model:a",
        "key": judge_key(CLAIM, EVIDENCE),
        "status": "supported",
        "reason": "",
        "code": None,
    }
    for bad in (
        {k: v for k, v in good.items() if k != "key"},
        dict(good, status="allowed"),
        dict(good, code="NOT_A_CODE"),
        "not a record",
    ):
        with pytest.raises(TetherError) as caught:
            ReplayJudge([bad])  # type: ignore[list-item]
        assert caught.value.code is ErrorCode.DATA_INVALID
    with pytest.raises(TetherError) as caught:
        ReplayJudge([good, dict(good, judge="model:b")])
    assert "name" in caught.value.message
    assert ReplayJudge([good, dict(good, judge="model:b")], name="model:b").name == "model:b"


def test_the_key_separates_claim_and_evidence() -> None:
    assert judge_key("a b", ["c"]) != judge_key("a", ["b c"])
    assert judge_key("a", ["b", "c"]) != judge_key("a", ["b c"])
    assert len(judge_key(CLAIM, EVIDENCE)) == 64


def test_calls_stuck_past_their_deadline_are_bounded() -> None:
    model = SlowModel(5.0)
    judge = ModelClaimJudge(model, timeout_s=0.05)
    try:
        verdicts = [judge.judge(f"claim {i}", EVIDENCE) for i in range(MAX_LINGERING + 2)]
        stuck = [t for t in threading.enumerate() if t.name == "judge:model:slow"]
        assert len(stuck) == MAX_LINGERING  # the later calls started no thread
    finally:
        model.release.set()
    assert {(v.status, v.code) for v in verdicts} == {(UNCERTAIN, ErrorCode.JUDGE_TIMEOUT)}
    assert "still past their deadline" in verdicts[-1].reason
    for thread in stuck:
        thread.join(timeout=2.0)
    assert judge.judge(CLAIM, EVIDENCE).status == "supported"  # released, the slots are free


@pytest.mark.parametrize("timeout", [0.0, -1.0, float("inf"), float("nan")])
def test_a_deadline_must_be_a_positive_number_of_seconds(timeout: float) -> None:
    with pytest.raises(TetherError) as caught:
        ModelClaimJudge(scripted(), timeout_s=timeout)
    assert caught.value.code is ErrorCode.CONFIG_INVALID
