"""The drift statistics against reference values, the monitors on synthetic traffic in memory
(a shift fires, a stable series does not), and the false-alarm rate over many seeds."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tether.core.errors import ErrorCode, TetherError
from tether.observe.drift import (
    DriftSettings,
    Traffic,
    audit_monitor,
    evaluate,
    parse_duration,
    windows,
)
from tether.observe.drift_calibration import Profile, draw_traffic, false_alarms, shifted
from tether.observe.drift_freshness import age_bucket, stale_monitor
from tether.observe.drift_stats import (
    OTHER,
    chi2_sf,
    compare_mix,
    fisher_exact,
    gamma_q,
    normal_sf,
    psi,
    quantile_bins,
    two_proportions,
)

SHIFTED_TOOLS = {"find_user": 0.2, "get_order": 0.2, "get_product": 0.2, "cancel": 0.4}
MORE_REFUSALS = {"answer": 0.45, "action": 0.2, "escalation": 0.08, "refusal": 0.15}
MORE_REFUSALS["clarification"] = 0.12


@pytest.mark.parametrize(
    ("x", "dof", "expected"),
    [  # scipy.stats.chi2.sf, to 12 significant digits
        (3.841458820694124, 1, 0.05),
        (0.5, 1, 0.479500122186953),
        (10.0, 3, 0.0185661354630432),
        (100.0, 50, 3.45493138298487e-05),
        (45.0, 30, 0.0386017582663173),
        (200.0, 2, 3.72007597602084e-44),
        (0.01, 10, 0.999999999999974),
        (0.0, 4, 1.0),
    ],
)
def test_chi_square_survival_matches_reference_values(x: float, dof: int, expected: float) -> None:
    assert chi2_sf(x, dof) == pytest.approx(expected, rel=1e-9)


def test_gamma_and_normal_tails_match_closed_forms() -> None:
    for x in (0.1, 1.0, 2.5, 9.0, 40.0):
        assert gamma_q(1.0, x) == pytest.approx(math.exp(-x), rel=1e-12)  # Q(1, x) = e^-x
        assert gamma_q(0.5, x) == pytest.approx(math.erfc(math.sqrt(x)), rel=1e-10)
    assert normal_sf(1.959963984540054) == pytest.approx(0.025, rel=1e-12)
    assert normal_sf(0.0) == 0.5


def test_rates_compare_with_fisher_and_cohens_h() -> None:
    # scipy.stats.fisher_exact([[50, 950], [60, 240]]) and [[3, 97], [10, 90]]
    assert fisher_exact(50, 1000, 60, 300) == pytest.approx(5.75834616116706e-14, rel=1e-9)
    assert fisher_exact(3, 100, 10, 100) == pytest.approx(0.0817940529689792, rel=1e-9)
    assert fisher_exact(20, 100, 20, 100) == pytest.approx(1.0)
    t = two_proportions(50, 1000, 60, 300)
    assert (t.baseline, t.window, t.test) == (0.05, 0.2, "fisher_exact")
    assert t.cohens_h == pytest.approx(
        2 * math.asin(math.sqrt(0.2)) - 2 * math.asin(math.sqrt(0.05))
    )
    assert t.z == pytest.approx(8.187545741624861)
    large = two_proportions(50_000, 100_000, 51_000, 100_000)  # every cell large: the z-test
    assert large.test == "two_proportion_z"
    assert large.p_value == pytest.approx(2 * normal_sf(large.z))


def test_distributions_compare_with_chi_square_and_psi() -> None:
    same = compare_mix({"a": 500, "b": 300, "c": 200}, {"a": 250, "b": 150, "c": 100})
    assert same is not None and same.chi2 == pytest.approx(0.0) and same.p_value == 1.0
    assert same.psi == pytest.approx(0.0, abs=1e-4)
    moved = compare_mix({"a": 500, "b": 300, "c": 200}, {"a": 100, "b": 90, "c": 110})
    assert moved is not None  # scipy.stats.chi2_contingency(..., correction=False)
    assert moved.chi2 == pytest.approx(40.770609318996414) and moved.dof == 2
    assert moved.p_value == pytest.approx(1.4020860697896343e-09, rel=1e-9)
    # PSI by hand: the sum of (w - b) ln(w / b) over smoothed shares
    b, w = (
        [500.5 / 1001.5, 300.5 / 1001.5, 200.5 / 1001.5],
        [100.5 / 301.5, 90.5 / 301.5, 110.5 / 301.5],
    )
    assert moved.psi == pytest.approx(
        sum((q - p) * math.log(q / p) for p, q in zip(b, w, strict=True))
    )
    assert psi([10, 0], [0, 10]) > 2  # an empty category stays finite


def test_rare_categories_are_pooled_and_one_category_is_no_test() -> None:
    # expected cells under 5 are pooled; a pool too small alone joins the rarest category
    found = compare_mix({"a": 600, "b": 390, "x": 2, "y": 1}, {"a": 60, "b": 39, "z": 1})
    assert found is not None and found.categories == ("a", f"b+{OTHER}")
    assert (found.baseline, found.window) == ((600, 393), (60, 40))
    found = compare_mix({"a": 500, "b": 300, "x": 40, "y": 30}, {"a": 50, "b": 30, "z": 5})
    assert found is not None and found.categories == ("a", "b", OTHER)
    assert (found.baseline, found.window) == ((500, 300, 70), (50, 30, 5))
    assert compare_mix({"a": 100}, {"a": 80}) is None


def test_durations_and_windows() -> None:
    assert parse_duration("24h") == 86_400 == parse_duration("PT24H") == parse_duration("1d")
    assert parse_duration("7d") == parse_duration("P1W") == parse_duration("P7D") == 604_800
    assert parse_duration(" 90m ") == 5_400
    for bad in ("", "24", "abc", "-1h", "0h", "30s", "400d", "P", "PT"):
        with pytest.raises(TetherError) as caught:
            parse_duration(bad)
        assert caught.value.code is ErrorCode.DRIFT_WINDOW_INVALID, bad
    baseline, recent = windows(1_800_000_030.0, 3600, 7200)
    assert (recent.start, recent.end) == (1_799_996_400.0, 1_800_000_000.0)
    assert (baseline.start, baseline.end) == (1_799_989_200.0, recent.start)
    assert recent.to_dict() == {"start": "2027-01-15T07:00:00Z", "end": "2027-01-15T08:00:00Z"}


def test_a_shifted_tool_mix_and_refusal_rate_fire_and_a_stable_series_does_not() -> None:
    base = Profile()
    moved = shifted(base, tools=SHIFTED_TOOLS, decisions=MORE_REFUSALS)
    rng = np.random.default_rng(7)
    before = draw_traffic(rng, 1400, base)
    fired = {m.name for m in evaluate(before, draw_traffic(rng, 300, moved)) if m.fired}
    assert {"tool_call_mix", "refusal_rate"} <= fired
    assert "retrieved_sources" not in fired and "tool_error_rate" not in fired  # unchanged
    stable = evaluate(before, draw_traffic(rng, 300, base))
    assert not [m.name for m in stable if m.fired]
    judged = [m for m in stable if m.name != "refusal_codes"]  # 15 refusals: too few to judge
    judged = [m for m in judged if m.name != "audit_completeness"]  # whole chain: no test
    assert all(m.value is not None and m.p_value is not None for m in judged)


def test_a_monitor_without_enough_data_does_not_fire_and_says_so() -> None:
    lots = Traffic({"runs": 1000, "refusals": 10}, {"tool_call_mix": {"a": 500, "b": 500}})
    few = Traffic({"runs": 20, "refusals": 15}, {"tool_call_mix": {"a": 2, "b": 18}})
    found = {m.name: m for m in evaluate(lots, few, DriftSettings(min_samples=50))}
    for name in ("refusal_rate", "tool_call_mix"):
        assert not found[name].fired and found[name].value is None
        assert "too few" in found[name].note and "needs 50" in found[name].note
    assert {m.name for m in evaluate(lots, few, DriftSettings(min_samples=10)) if m.fired} >= {
        "refusal_rate",
        "tool_call_mix",
    }


def test_false_alarm_rate_on_stable_traffic_is_within_the_nominal_level() -> None:
    measured = false_alarms(seeds=200)
    # one evaluation of all monitors is held to alpha (Bonferroni); 200 trials: allow + 0.02
    assert measured.alpha == 0.01
    assert measured.significant_rate <= measured.alpha + 0.02
    assert measured.fired_rate <= measured.significant_rate
    print(f"false alarms: {measured.fired_rate:.3f} fired, {measured.significant_rate:.3f} "
          f"significant, over {measured.trials} seeds (nominal {measured.alpha})")  # fmt: skip


def test_a_source_that_stopped_updating_is_stale_and_a_regular_one_is_not() -> None:
    day = 86_400.0
    now = 1_800_000_000.0
    daily = [now - day * k for k in range(10, 0, -1)]  # ten daily updates, the last a day ago
    history = {
        "kb://faq": daily,
        "kb://prices": [t - 5 * day for t in daily],  # silent for six days: stopped
        "kb://manual": [now - 3 * day, now - 2 * day],  # too few updates to learn a rhythm
    }
    found = stale_monitor(history, now, DriftSettings())
    assert found.fired and found.value == 1.0 and list(found.effect["stale"]) == ["kb://prices"]
    assert found.effect["stale"]["kb://prices"]["usual_gap_s"] == day
    assert found.samples == (3, 2) and "kb://prices" in found.note
    assert found.to_dict(*windows(now, day, 7 * day)[::-1])["samples"] == {
        "sources": 3,
        "judged": 2,
    }
    assert not stale_monitor({"kb://faq": daily}, now, DriftSettings()).fired
    unknown = stale_monitor({"kb://manual": history["kb://manual"]}, now, DriftSettings())
    assert not unknown.fired and unknown.value is None and "4 updates" in unknown.note


def test_evidence_ages_are_bucketed() -> None:
    assert [age_bucket(s) for s in (0, 3599, 3600, 86_399, 6 * 86_400, 40 * 86_400)] == [
        "<1h",
        "<1h",
        "<1d",
        "<1d",
        "<7d",
        "<90d",
    ]
    assert age_bucket(400 * 86_400) == ">=90d"


def test_costs_are_binned_by_the_baselines_quantiles() -> None:
    baseline = [float(v) for v in range(1, 101)]
    mb, mw = quantile_bins(baseline, [5.0, 50.0, 50.5, 101.0, 1000.0], bins=4)
    assert mb == {"<=26": 26, "<=51": 25, "<=76": 25, ">76": 24}
    assert mw == {"<=26": 1, "<=51": 2, ">76": 2}
    same, _ = quantile_bins([2.0] * 60 + [3.0] * 40, [], bins=10)  # tied edges merge
    assert same == {"<=2": 60, "<=3": 40}
    assert quantile_bins([], [1.0]) == ({}, {})


def test_a_costlier_model_and_more_incidents_fire_and_a_stable_series_does_not() -> None:
    base = Profile()
    rng = np.random.default_rng(3)
    before = draw_traffic(rng, 1400, base)
    dearer = shifted(base, cost_median=base.cost_median * 2, incident=0.08)
    fired = {m.name: m for m in evaluate(before, draw_traffic(rng, 300, dearer)) if m.fired}
    assert set(fired) == {"cost_per_run", "compliance_incident_rate"}
    means = fired["cost_per_run"].effect["mean"]
    assert 1.6 < means["window"] / means["baseline"] < 2.5
    stable = {m.name: m for m in evaluate(before, draw_traffic(rng, 300, base))}
    assert not [n for n, m in stable.items() if m.fired]
    assert stable["cost_per_run"].value is not None and stable["cost_per_run"].value < 0.2
    # a move to a model without a price is a shift of its own, not a drop in cost
    unpriced = evaluate(before, draw_traffic(rng, 300, shifted(base, unpriced=0.3)))
    cost = next(m for m in unpriced if m.name == "cost_per_run")
    assert cost.fired and cost.effect["shares"]["unpriced"]["window"] > 0.2


def test_any_audit_gap_fires_while_the_chain_was_whole() -> None:
    whole = Traffic({"sampled_runs": 5000})
    one_gap = Traffic({"sampled_runs": 40, "audit_incomplete_runs": 1})
    found = audit_monitor(whole, one_gap, DriftSettings())
    assert found.fired and found.test == "zero_tolerance" and found.value == 0.025
    assert "100.00% -> 97.50%" in found.note
    assert not audit_monitor(whole, Traffic({"sampled_runs": 40}), DriftSettings()).fired
    # gaps in the baseline already: only a significant rise fires
    leaky = Traffic({"sampled_runs": 5000, "audit_incomplete_runs": 50})
    same = audit_monitor(leaky, Traffic({"sampled_runs": 400, "audit_incomplete_runs": 4}),
                         DriftSettings())  # fmt: skip
    assert not same.fired and same.test == "fisher_exact" and same.p_value is not None
    worse = audit_monitor(leaky, Traffic({"sampled_runs": 400, "audit_incomplete_runs": 30}),
                          DriftSettings())  # fmt: skip
    assert worse.fired


def test_false_alarms_per_business_monitor_stay_within_a_percent() -> None:
    measured = false_alarms(seeds=300)
    for name in ("cost_per_run", "compliance_incident_rate", "audit_completeness"):
        assert measured.monitor_rate(name) <= 0.01, name
    # a stable share of runs missing events (a chain with known losses) raises no more
    leaky = false_alarms(seeds=300, profile=Profile(audit_gap=0.01))
    assert leaky.monitor_rate("audit_completeness") <= 0.01
