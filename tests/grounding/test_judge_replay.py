"""A judge on the run path is asked once per uncertain claim, and its verdicts are recorded with
the answer's guard step: a replay is served them and never calls the judge. A verdict edited in
the record, missing from it or malformed makes the replay diverge instead of asking again."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from tether.core.errors import ErrorCode
from tether.core.types import Message, Run, Step, StepKind
from tether.domains.retail.db import RetailDB
from tether.grounding.judge import JUDGE_READS, JudgeVerdict, parse_verdict
from tether.grounding.verifier import Verifier
from tether.grounding.verify import ClaimCheck
from tether.models.scripted import ScriptedModel, parse_script
from tether.runtime.replay import Replayer, unreplayable
from tether.runtime.seams import RunRequest
from tether.sdk.desk import Desk, build_desk
from tether.sdk.loader import load_domain
from tether.store.runs import RunStore

USER = "raj_sanchez_2970"
ASK = "What is the status of order #W4566809? My email is raj.sanchez2046@example.com"
# two sentences the rules leave uncertain (nothing in the order record bears on them)
ANSWER = "Order #W4566809 is pending [tool:2]. We appreciate your patience. We value your business."
SCRIPT = [
    {"tool": "find_user_id_by_email", "args": {"email": "raj.sanchez2046@example.com"}},
    {"tool": "get_order_details", "args": {"order_id": "#W4566809"}},
    {"answer": ANSWER},
]


class PayloadJudge:
    """A judge that reads the same model output for every claim and counts how often it is
    asked (`fail`: it raises instead, as a model that is down does)."""

    name = "payload"

    def __init__(self, payload: str, fail: bool = False) -> None:
        self.payload, self.fail = payload, fail
        self.asked: list[str] = []

    def judge(self, claim: str, evidence: Sequence[str]) -> JudgeVerdict:
        self.asked.append(claim)
        if self.fail:
            raise ConnectionError("the judge's model is unreachable")
        return parse_verdict(self.payload)


def with_judge(judge: PayloadJudge) -> Any:
    """The answer chain with the claim check's verifier given `judge`."""

    def hook(checks: list[Any]) -> list[Any]:
        out = []
        for check in checks:
            if isinstance(check, ClaimCheck):
                v = check.verifier
                judged = Verifier(v.config, vocabulary=v.vocabulary, fields=v.fields, judge=judge)
                check = ClaimCheck(judged, on_fail=check.on_fail)
            out.append(check)
        return out

    return hook


@pytest.fixture
def store(store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunStore]:
    monkeypatch.setenv("TETHER_HOME", str(tmp_path / "home"))
    opened = RunStore.open(store_url)
    yield opened
    opened.close()


def desk_with(store: RunStore, judge: PayloadJudge) -> Desk:
    return build_desk(
        load_domain("retail"), store, data=RetailDB.fresh_copy(), answer_checks=with_judge(judge)
    )


def record(desk: Desk) -> Run:
    model = ScriptedModel(parse_script(SCRIPT))
    run = desk.runtime.run(RunRequest(USER, [Message("user", ASK)]), model)
    return desk.store.get_run(run.id)


def answer_step(run: Run) -> Step:
    (step,) = [s for s in run.steps if s.kind is StepKind.GUARD and s.name == "answer"]
    return step


def kept_verdicts(step: Step) -> dict[str, Any]:
    reads = step.data.get("reads") or {}
    return {k: v for k, v in reads.items() if k.startswith(f"{JUDGE_READS}:")}


def with_reads(run: Run, reads: dict[str, Any]) -> Run:
    step = answer_step(run)
    edited = dataclasses.replace(step, data={**step.data, "reads": reads})
    return dataclasses.replace(run, steps=tuple(edited if s is step else s for s in run.steps))


SUPPORTED = '{"verdict": "supported", "reason": "the order record is the evidence"}'


def test_a_replay_serves_the_recorded_verdicts_and_never_calls_the_judge(
    store: RunStore,
) -> None:
    judge = PayloadJudge(SUPPORTED)
    desk = desk_with(store, judge)
    run = record(desk)
    assert run.decision is not None and run.decision.kind.value == "answer"
    assert judge.asked == ["We appreciate your patience.", "We value your business."]
    step = answer_step(run)
    kept = kept_verdicts(step)
    assert len(kept) == 2 and {v["status"] for v in kept.values()} == {"supported"}
    claims = step.data["verdicts"][1]["facts"]["claims"]
    assert [c["decided_by"] for c in claims[1:]] == ["payload", "payload"]

    report = Replayer(desk.runtime).replay(run)
    assert report.identical, [d.to_dict() for d in report.diffs]
    assert report.checked >= 3
    assert len(judge.asked) == 2  # not one call more


def test_a_judge_that_failed_replays_its_failure_without_being_asked(store: RunStore) -> None:
    judge = PayloadJudge(SUPPORTED, fail=True)
    desk = desk_with(store, judge)
    run = record(desk)
    kept = kept_verdicts(answer_step(run))
    assert {v["code"] for v in kept.values()} == {ErrorCode.JUDGE_FAILED.value}
    asked = len(judge.asked)
    assert asked >= 2  # a revision asks about the new answer's claims again
    judge.fail = False  # a replay that asked now would be told something else
    report = Replayer(desk.runtime).replay(run)
    assert report.identical, [d.to_dict() for d in report.diffs]
    assert len(judge.asked) == asked


def test_an_edited_verdict_makes_the_replay_diverge(store: RunStore) -> None:
    judge = PayloadJudge(SUPPORTED)
    desk = desk_with(store, judge)
    run = record(desk)
    reads = dict(answer_step(run).data["reads"])
    first = sorted(kept_verdicts(answer_step(run)))[0]
    reads[first] = {**reads[first], "status": "contradicted", "reason": "edited"}
    report = Replayer(desk.runtime).replay(with_reads(run, reads))
    assert not report.identical
    assert report.diffs[0].step == answer_step(run).seq
    assert len(judge.asked) == 2


@pytest.mark.parametrize("edit", ["missing", "malformed"])
def test_a_verdict_the_record_lacks_is_a_divergence_not_a_call(store: RunStore, edit: str) -> None:
    judge = PayloadJudge(SUPPORTED)
    desk = desk_with(store, judge)
    run = record(desk)
    reads = dict(answer_step(run).data["reads"])
    first = sorted(kept_verdicts(answer_step(run)))[0]
    if edit == "missing":
        del reads[first]
    else:
        reads[first] = {**reads[first], "status": "maybe"}
    report = Replayer(desk.runtime).replay(with_reads(run, reads))
    assert not report.identical
    assert len(judge.asked) == 2
    remade = report.verdicts[answer_step(run).seq].final.to_dict()
    assert remade["effect"] == "deny"
    expected = "REPLAY_READ_MISSING" if edit == "missing" else "DATA_INVALID"
    assert expected in str(remade)
    if edit == "missing":
        assert "REPLAY_READ_MISSING" in (unreplayable(report) or "")
