"""What a rollout decides with: guards parsed (or refused with the problem named), sticky
assignment, KPIs per conversation, and the non-inferiority tests on values worked by hand."""

from __future__ import annotations

import math
import random

import pytest

from tether import ErrorCode, TetherError
from tether.core.types import DecisionKind
from tether.release.rollout import assign, check_plan
from tether.release.rollout_guards import Conversation, Guard, Turn, arm_kpis, parse_guards
from tether.release.rollout_looks import BASELINE, CANDIDATE
from tether.release.rollout_stats import Bound, quantile, quantile_se, quantile_test, rate_test

D = DecisionKind


def test_guards_parse_into_a_bound_on_the_baseline() -> None:
    cases = {
        "resolution_rate >= baseline - 0.02": ("resolution_rate", Bound(True, 1.0, -0.02)),
        "refused_by_verification<=baseline+0.01": ("refused_by_verification", Bound(False, 1.0, 0.01)),
        "  p95_latency_s <=  baseline * 1.2 ": ("p95_latency_s", Bound(False, 1.2, 0.0)),
        "escalation_rate < baseline": ("escalation_rate", Bound(False, 1.0, 0.0)),
        "tool_error_rate > baseline - .5": ("tool_error_rate", Bound(True, 1.0, -0.5)),
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
    }


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
