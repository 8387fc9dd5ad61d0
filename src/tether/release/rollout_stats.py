"""The one-sided non-inferiority tests a staged rollout runs per guard.

A guard bounds the candidate's KPI by the baseline's: `c OP m·b + a` (`baseline + 0.01` is
m = 1, a = 0.01; `baseline * 1.2` is m = 1.2, a = 0). With D = c - (m·b + a), the test's null
hypothesis is that the candidate breaks the bound (D ≤ 0 for `>=`, D ≥ 0 for `<=`); its
p-value is small when the data show the candidate within the bound. The opposite one-sided
p-value (small when the data show the bound broken) is 1 - p under the same statistic.

Rates: the adjusted Wald statistic of Agresti and Caffo (one success and one failure added to
each arm), so that a rare or absent event still has a variance: z = D̃ / sqrt(v_c + m²·v_b).

Percentiles (latency): each arm's sample quantile with its standard error read from the
distribution-free confidence interval of a quantile (the order statistics at
n·q ± 1.96·sqrt(n·q·(1 - q)), whose coverage is binomial whatever the distribution), and the
same Wald statistic. It needs no resampling, so a look at thousands of conversations is quick;
it wants n·(1 - q) of at least a few (about 100 conversations for p95).

Means (cost, handle time): Welch's statistic, each arm's mean with its sample variance,
z = D / sqrt(s_c²/n_c + m²·s_b²/n_b), normal by the central limit theorem at the few hundred
conversations a look holds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

Z95 = 1.959963984540054  # the two-sided 95 % normal quantile the quantile's interval uses


def normal_sf(z: float) -> float:
    """P(Z > z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


@dataclass(frozen=True)
class Bound:
    """The bound a guard sets on the candidate: `m·baseline + a`, and which side is fine."""

    higher_is_fine: bool  # `>=` or `>`: the candidate must stay above the bound
    factor: float = 1.0
    offset: float = 0.0

    def of(self, baseline: float) -> float:
        return self.factor * baseline + self.offset


@dataclass(frozen=True)
class NonInferiority:
    """One guard's test: the estimates, the statistic and the one-sided p-value."""

    baseline: float
    candidate: float
    bound: float
    z: float
    p_value: float  # small: the candidate is shown within the bound (non-inferior)

    @property
    def p_inferior(self) -> float:
        """Small: the candidate is shown outside the bound."""
        return 1.0 - self.p_value


def _p_value(d: float, se: float, bound: Bound) -> tuple[float, float]:
    """(z, one-sided p) of the difference `d` from the bound with standard error `se`."""
    if se <= 0:  # no spread: the sign of the difference decides, and a tie says nothing
        if d == 0:
            return 0.0, 0.5
        z = math.inf if d > 0 else -math.inf
    else:
        z = d / se
    return z, normal_sf(z) if bound.higher_is_fine else normal_sf(-z)


def rate_test(hits_b: int, n_b: int, hits_c: int, n_c: int, bound: Bound) -> NonInferiority:
    """Non-inferiority of the candidate's rate `hits_c / n_c` against the baseline's."""
    if n_b <= 0 or n_c <= 0:
        raise ValueError("both arms need at least one trial")
    pb, pc = (hits_b + 1) / (n_b + 2), (hits_c + 1) / (n_c + 2)
    var_b, var_c = pb * (1 - pb) / (n_b + 2), pc * (1 - pc) / (n_c + 2)
    d = pc - bound.of(pb)
    z, p = _p_value(d, math.sqrt(var_c + bound.factor**2 * var_b), bound)
    return NonInferiority(hits_b / n_b, hits_c / n_c, bound.of(hits_b / n_b), z, p)


def quantile(ordered: Sequence[float], q: float) -> float:
    """The q-quantile of sorted values by the nearest-rank definition."""
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


def quantile_se(ordered: Sequence[float], q: float) -> float:
    """The standard error of the sample q-quantile: the width of its distribution-free 95 %
    interval (order statistics at n·q ± 1.96·sqrt(n·q·(1 - q))) over 2 x 1.96."""
    n = len(ordered)
    half = Z95 * math.sqrt(n * q * (1 - q))
    lo = min(n - 1, max(0, math.floor(n * q - half) - 1))
    hi = min(n - 1, max(0, math.ceil(n * q + half) - 1))
    return (ordered[hi] - ordered[lo]) / (2 * Z95)


def quantile_test(
    baseline: Sequence[float], candidate: Sequence[float], q: float, bound: Bound
) -> NonInferiority:
    """Non-inferiority of the candidate's q-quantile against the baseline's (both sorted)."""
    if not baseline or not candidate:
        raise ValueError("both arms need at least one value")
    ob, oc = baseline, candidate
    qb, qc = quantile(ob, q), quantile(oc, q)
    se = math.sqrt(quantile_se(oc, q) ** 2 + bound.factor**2 * quantile_se(ob, q) ** 2)
    z, p = _p_value(qc - bound.of(qb), se, bound)
    return NonInferiority(qb, qc, bound.of(qb), z, p)


def _mean_var(values: Sequence[float]) -> tuple[float, float]:
    """The mean and the unbiased sample variance (0 for a single value)."""
    n = len(values)
    mean = math.fsum(values) / n
    var = math.fsum((v - mean) ** 2 for v in values) / (n - 1) if n > 1 else 0.0
    return mean, var


def mean_test(
    baseline: Sequence[float], candidate: Sequence[float], bound: Bound
) -> NonInferiority:
    """Non-inferiority of the candidate's mean against the baseline's."""
    if not baseline or not candidate:
        raise ValueError("both arms need at least one value")
    mb, vb = _mean_var(baseline)
    mc, vc = _mean_var(candidate)
    se = math.sqrt(vc / len(candidate) + bound.factor**2 * vb / len(baseline))
    z, p = _p_value(mc - bound.of(mb), se, bound)
    return NonInferiority(mb, mc, bound.of(mb), z, p)
