"""What a rollout decides with: guards parsed (or refused with the problem named), sticky
assignment, KPIs per conversation, and the non-inferiority tests on values worked by hand."""

from __future__ import annotations

import math
import random

import pytest

from tether import ErrorCode, TetherError
from tether.core.types import DecisionKind
from tether.release.rollout_guards import Conversation, Guard, Turn, arm_kpis, parse_guards
from tether.release.rollout_looks import BASELINE, CANDIDATE, take_look
from tether.release.rollout_plan import assign, check_plan
from tether.release.rollout_stats import (
    Bound,
    mean_test,
    quantile,
    quantile_se,
    quantile_test,
    rate_test,
)

D = DecisionKind


def test_guards_parse_into_a_bound_on_the_baseline() -> None:
    cases = {
        "resolution_rate >= baseline - 0.02": ("resolution_rate", Bound(True, 1.0, -0.02)),
        "refused_by_verification<=baseline+0.01": ("refused_by_verification", Bound(False, 1.0, 0.01)),
        "  p95_latency_s <=  baseline * 1.2 ": ("p95_latency_s", Bound(False, 1.2, 0.0)),
        "escalation_rate < baseline": ("escalation_rate", Bound(False, 1.0, 0.0)),
        "tool_error_rate > baseline - .5": ("tool_error_rate", Bound(True, 1.0, -0.5)),
        "cost_per_conversation <= baseline * 1.2": ("cost_per_conversation", Bound(False, 1.2)),
        "handle_time_s <= baseline + 30": ("handle_time_s", Bound(False, 1.0, 30.0)),
        "compliance_incident_rate <= baseline + 0.01":
            ("compliance_incident_rate", Bound(False, 1.0, 0.01)),
        "audit_completeness >= baseline - 0.005": ("audit_completeness", Bound(True, 1.0, -0.005)),
    }  # fmt: skip
    for text, (metric, bound) in cases.items():
        guard = Guard.parse(text)
        assert (guard.metric, guard.bound) == (metric, bound), text
    assert Guard.parse("p95_latency_s <=  baseline * 1.2").expr == "p95_latency_s <= baseline * 1.2"
    assert Guard.parse("refusal_rate <= baseline * 2").bound.of(0.05) == pytest.approx(0.1)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("resolution >= baseline - 0.02", "unknown metric 'resolution'"),
        ("resolution_rate => baseline - 0.02", "expected METRIC OP baseline"),
        ("resolution_rate == baseline", "expected METRIC OP baseline"),
        ("resolution_rate >= 0.8", "expected METRIC OP baseline"),
        ("resolution_rate >= baseline / 2", "expected METRIC OP baseline"),
        ("resolution_rate >= baseline - 2", "a margin must be below 1"),
        ("p95_latency_s <= baseline * 0", "a factor must be above 0"),
        ("resolution_rate >= baseline - 0.02; drop", "expected METRIC OP baseline"),
    ],
)
def test_a_bad_guard_is_a_stable_code_naming_the_problem(text: str, problem: str) -> None:
    with pytest.raises(TetherError) as caught:
        Guard.parse(text)
    assert caught.value.code is ErrorCode.ROLLOUT_GUARD_INVALID
    assert problem in caught.value.message and text.split()[0] in caught.value.message


def test_an_unknown_metric_lists_the_business_kpis_and_their_margins_are_checked() -> None:
    with pytest.raises(TetherError) as caught:
        Guard.parse("cost_per_run <= baseline * 1.2")  # the drift monitor's name, not a guard's
    message = caught.value.message
    for name in ("cost_per_conversation", "handle_time_s", "compliance_incident_rate",
                 "audit_completeness"):  # fmt: skip
        assert name in message
    assert "first_contact_resolution" not in message  # a step cannot wait out its window
    with pytest.raises(TetherError) as caught:
        Guard.parse("audit_completeness >= baseline - 1")
    assert "a margin must be below 1" in caught.value.message
    assert Guard.parse("handle_time_s <= baseline + 90").bound.offset == 90.0  # seconds


def test_guards_come_at_least_once_and_never_twice() -> None:
    for texts in ([], ["refusal_rate <= baseline", "refusal_rate  <= baseline"]):
        with pytest.raises(TetherError) as caught:
            parse_guards(texts)
        assert caught.value.code is ErrorCode.ROLLOUT_GUARD_INVALID


def test_a_plan_must_grow_to_100_with_enough_runs() -> None:
    assert check_plan([5, 25, 50, 100], 200, 4, 0.05) == (5, 25, 50, 100)
    for steps, runs in (([100], 200), ([5, 50], 200), ([50, 25, 100], 200), ([0, 100], 200),
                        ([5, 100], 10)):  # fmt: skip
        with pytest.raises(TetherError) as caught:
            check_plan(steps, runs, 4, 0.05)
        assert caught.value.code is ErrorCode.ROLLOUT_INVALID


def test_assignment_is_sticky_and_takes_the_step_share() -> None:
    keys = [f"conv-{i}" for i in range(10_000)]
    at = {pct: [assign("ro_1", pct, k) for k in keys] for pct in (5, 25, 50)}
    for pct, arms in at.items():
        share = arms.count(CANDIDATE) / len(keys)
        assert abs(share - pct / 100) < 0.02, (pct, share)  # 4 standard errors at most
        assert arms == [assign("ro_1", pct, k) for k in keys]  # the same key, the same arm
    # a growing share only moves conversations onto the candidate, never back
    assert all(a == CANDIDATE for a, b in zip(at[50], at[5], strict=True) if b == CANDIDATE)
    assert all(a == BASELINE for a, b in zip(at[5], at[25], strict=True) if b == BASELINE)
    # another rollout shuffles anew; a principal keeps all its conversations in one arm
    assert [assign("ro_2", 50, k) for k in keys[:200]] != at[50][:200]
    assert len({assign("ro_1", 50, f"c{i}", principal="user-7") for i in range(50)}) == 1
    assert assign("ro_1", 0, "x") == BASELINE and assign("ro_1", 100, "x") == CANDIDATE


def convo(cid: str, *turns: Turn) -> Conversation:
    return Conversation(cid, tuple(turns))


def test_kpis_count_conversations_by_their_last_turn() -> None:
    arm = [
        convo("a", Turn(D.CLARIFICATION, 1.0), Turn(D.ANSWER, 2.0, verified=True)),
        convo("b", Turn(D.CONFIRMATION, 4.0, tool_calls=1), Turn(D.ACTION, 1.0, 1, 1)),
        convo("c", Turn(D.REFUSAL, 3.0, 0, 0, True, True)),
        convo("d", Turn(D.ESCALATION, 0.5, tool_calls=2)),
        convo("e", Turn(D.ANSWER, 0.2), Turn(D.CLARIFICATION, 9.0)),  # waits: not counted
    ]
    kpis = arm_kpis(arm)
    assert kpis == {
        "n": 4,
        "resolution_rate": 0.5,
        "escalation_rate": 0.25,
        "refusal_rate": 0.25,
        "refused_by_verification": 0.5,  # c of a and c (the ones the claims check judged)
        "tool_error_rate": 0.5,  # b of b and d
        "p50_latency_s": 2.0,  # slowest turns 2, 4, 3, 0.5
        "p95_latency_s": 4.0,
        "cost_per_conversation": 0.0,
        "handle_time_s": 1.625,  # every turn starts at 0 here: (2 + 1 + 3 + 0.5) / 4
        "compliance_incident_rate": 0.0,
        "audit_completeness": 1.0,
    }


def test_business_kpis_per_conversation() -> None:
    arm = [
        convo("a", Turn(D.CLARIFICATION, 1.0, started_at=10.0, cost=0.25),
              Turn(D.ANSWER, 2.0, started_at=40.0, cost=0.5)),
        convo("b", Turn(D.CONFIRMATION, 1.0, started_at=0.0, cost=0.5, incident=True),
              Turn(D.ACTION, 1.0, started_at=20.0, cost=1.0, audited=False)),
        convo("c", Turn(D.REFUSAL, 3.0, started_at=5.0, cost=0.0)),
        convo("d", Turn(D.ANSWER, 1.0, cost=9.0), Turn(D.CONFIRMATION, 1.0)),  # waits
    ]  # fmt: skip
    kpis = arm_kpis(arm)
    assert kpis["n"] == 3
    assert kpis["cost_per_conversation"] == 0.75  # (0.75 + 1.5 + 0) / 3
    assert kpis["handle_time_s"] == pytest.approx(56 / 3, abs=1e-6)  # (32 + 21 + 3) / 3
    assert kpis["compliance_incident_rate"] == pytest.approx(1 / 3, abs=1e-6)
    assert kpis["audit_completeness"] == pytest.approx(2 / 3, abs=1e-6)
    unpriced = arm_kpis([*arm, convo("e", Turn(D.ANSWER, 1.0, cost=None))])
    assert unpriced["cost_per_conversation"] is None
    assert unpriced["cost_per_conversation_missing"] == 1
    assert unpriced["handle_time_s"] is not None  # only the cost is unknown


def test_mean_non_inferiority_on_values_worked_by_hand() -> None:
    baseline = [1.0, 2.0, 3.0, 4.0]  # mean 2.5, sample variance 5/3
    candidate = [2.0, 3.0, 4.0, 5.0, 6.0]  # mean 4, sample variance 2.5
    found = mean_test(baseline, candidate, Bound(False, factor=1.2))
    se = math.sqrt(2.5 / 5 + 1.44 * (5 / 3) / 4)
    assert found.bound == pytest.approx(3.0) and found.candidate == pytest.approx(4.0)
    assert found.z == pytest.approx(1.0 / se)
    assert found.p_value == pytest.approx(0.5 * math.erfc(-(1.0 / se) / math.sqrt(2)))
    assert found.p_value > 0.5 and found.p_inferior < 0.5  # above the bound: leaning inferior
    cheaper = mean_test(baseline, [v / 2 for v in baseline], Bound(False, factor=1.2))
    assert cheaper.p_value < 0.05 and cheaper.z < -2  # half the cost: shown within the bound


def test_the_mean_test_holds_its_level_at_the_margin() -> None:
    rng = random.Random(11)
    n, level, trials, rejected = 200, 0.05, 1500, 0
    for _ in range(trials):  # skewed costs, the candidate's mean exactly 1.2 x the baseline's
        base = [rng.lognormvariate(0.0, 0.8) for _ in range(n)]
        cand = [1.2 * rng.lognormvariate(0.0, 0.8) for _ in range(n)]
        rejected += mean_test(base, cand, Bound(False, factor=1.2)).p_value <= level
    assert 0.025 < rejected / trials < 0.075  # about alpha: neither lax nor blind


def test_rate_non_inferiority_on_values_worked_by_hand() -> None:
    # 500/1000 each, margin 0.05: adjusted rates 501/1002, se = sqrt(2 * 0.25 / 1002)
    found = rate_test(500, 1000, 500, 1000, Bound(True, offset=-0.05))
    se = math.sqrt(2 * 0.25 / 1002)
    assert found.z == pytest.approx(0.05 / se)
    assert found.p_value == pytest.approx(0.0126007, abs=1e-6)
    assert found.p_inferior == pytest.approx(1 - 0.0126007, abs=1e-6)
    # a factor scales the baseline's variance too: 5 % against 1.5 x 5 %
    found = rate_test(50, 1000, 50, 1000, Bound(False, factor=1.5))
    p = 51 / 1002
    var = p * (1 - p) / 1002
    assert found.bound == pytest.approx(0.075)
    assert found.z == pytest.approx(-0.5 * p / math.sqrt(var * (1 + 1.5**2)))
    assert found.p_value == pytest.approx(0.0210216, abs=1e-6)
    # no margin, equal rates: no evidence either way
    assert rate_test(30, 300, 30, 300, Bound(True)).p_value == pytest.approx(0.5)
    # a candidate twice as often refused is shown outside a 1-point margin
    worse = rate_test(50, 1000, 100, 1000, Bound(False, offset=0.01))
    assert worse.p_value > 0.999 and worse.p_inferior < 0.001


def test_the_rate_test_holds_its_level_at_the_margin() -> None:
    rng = random.Random(7)
    n, level, trials, rejected = 300, 0.05, 1500, 0
    for _ in range(trials):  # the candidate exactly at the bound: 0.75 against 0.80 - 0.05
        hb = sum(rng.random() < 0.80 for _ in range(n))
        hc = sum(rng.random() < 0.75 for _ in range(n))
        rejected += rate_test(hb, n, hc, n, Bound(True, offset=-0.05)).p_value <= level
    assert 0.025 < rejected / trials < 0.075  # about alpha: neither lax nor blind


def test_quantile_non_inferiority_on_values_worked_by_hand() -> None:
    values = [float(v) for v in range(1, 101)]
    assert quantile(values, 0.95) == 95.0 and quantile(values, 0.5) == 50.0
    # order statistics 90 and 100 bound the 95 % interval of p95: se = 10 / (2 x 1.96)
    assert quantile_se(values, 0.95) == pytest.approx(10 / (2 * 1.959964), rel=1e-6)
    found = quantile_test(values, values, 0.95, Bound(False, factor=1.1))
    se = quantile_se(values, 0.95) * math.sqrt(1 + 1.1**2)
    assert found.bound == pytest.approx(104.5) and found.z == pytest.approx(-9.5 / se)
    assert found.p_value == pytest.approx(0.0061228, abs=1e-6)
    slower = [v * 1.5 for v in values]
    assert quantile_test(values, slower, 0.95, Bound(False, factor=1.1)).p_inferior < 0.01


def test_a_cost_guard_without_prices_fails_at_the_last_look_and_says_why() -> None:
    priced = [convo(f"b{i}", Turn(D.ANSWER, 1.0, cost=0.01)) for i in range(60)]
    unpriced = [*priced[:59], convo("x", Turn(D.ANSWER, 1.0, cost=None))]
    guard = Guard.parse("cost_per_conversation <= baseline * 1.2")
    waiting = take_look([guard], priced, unpriced, 0.0125, last=False)
    assert waiting.verdict == "wait" and waiting.guards[0]["passed"] is None
    ended = take_look([guard], priced, unpriced, 0.0125, last=True)
    assert ended.verdict == "rollback" and ended.guards[0]["passed"] is False
    assert "no value for 1 conversations" in ended.reason(4, 4)
    assert ended.arms[CANDIDATE]["cost_per_conversation"] is None
