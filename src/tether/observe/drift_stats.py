"""The statistics drift monitors use: two proportions compared (Fisher's exact test, or the
z-test when every cell is large) with Cohen's h for rates, and a chi-square test of homogeneity
with the population stability index for distributions.

Plain Python (math only): the chi-square survival function is the regularised upper incomplete
gamma function, by its series below a + 1 and by its continued fraction above (both converge
fast there), so the drift command stays quick to start.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

OTHER = "(other)"  # where categories too rare for the chi-square approximation are pooled
MIN_EXPECTED = 5.0  # the usual floor on a cell's expected count for the chi-square test
_EPS = 1e-15
_TINY = 1e-300
_MAX_ITER = 10_000


def normal_sf(z: float) -> float:
    """P(Z > z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def _lower_series(a: float, x: float) -> float:
    """P(a, x), the regularised lower incomplete gamma function, by its power series."""
    term = total = 1.0 / a
    for n in range(1, _MAX_ITER):
        term *= x / (a + n)
        total += term
        if abs(term) < abs(total) * _EPS:
            break
    return total * math.exp(-x + a * math.log(x) - math.lgamma(a))


def _upper_fraction(a: float, x: float) -> float:
    """Q(a, x), the regularised upper incomplete gamma function, by its continued fraction
    (modified Lentz)."""
    b = x + 1.0 - a
    c = 1.0 / _TINY
    d = 1.0 / b
    h = d
    for i in range(1, _MAX_ITER):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = _TINY if abs(d) < _TINY else d
        c = b + an / c
        c = _TINY if abs(c) < _TINY else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    return h * math.exp(-x + a * math.log(x) - math.lgamma(a))


def gamma_q(a: float, x: float) -> float:
    """Q(a, x) = Γ(a, x) / Γ(a), for a > 0 and x ≥ 0."""
    if a <= 0:
        raise ValueError("a must be positive")
    if x <= 0:
        return 1.0
    if x < a + 1.0:
        return max(0.0, 1.0 - _lower_series(a, x))
    return min(1.0, _upper_fraction(a, x))


def chi2_sf(x: float, dof: int) -> float:
    """P(X > x) for X chi-square distributed with `dof` degrees of freedom."""
    if dof < 1:
        raise ValueError("dof must be at least 1")
    return gamma_q(dof / 2.0, x / 2.0)


@dataclass(frozen=True)
class RateTest:
    """Two proportions compared: the pooled two-sided z-test and the effect size."""

    baseline: float
    window: float
    z: float
    p_value: float
    cohens_h: float  # 2 asin(sqrt p_window) - 2 asin(sqrt p_baseline); 0.2 is a small effect
    test: str = "two_proportion_z"  # how p_value was found: two_proportion_z or fisher_exact

    @property
    def difference(self) -> float:
        return self.window - self.baseline


def _log_choose(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def fisher_exact(hits_b: int, n_b: int, hits_w: int, n_w: int) -> float:
    """The two-sided p-value of Fisher's exact test on the 2 x 2 table: given all hits, the
    chance of a split at most as likely as the one seen (hypergeometric)."""
    total, hits = n_b + n_w, hits_b + hits_w
    lo, hi = max(0, n_w - (total - hits)), min(hits, n_w)
    base = _log_choose(total, n_w)

    def log_p(x: int) -> float:
        return _log_choose(hits, x) + _log_choose(total - hits, n_w - x) - base

    seen = log_p(hits_w) + 1e-7  # a relative tolerance: ties count as at most as likely
    return min(1.0, math.fsum(math.exp(lp) for x in range(lo, hi + 1) if (lp := log_p(x)) <= seen))


LARGE_CELLS = 1000  # every expected cell at least this: the z-test's p-value is exact enough


def two_proportions(hits_b: int, n_b: int, hits_w: int, n_w: int) -> RateTest:
    """Whether the rate `hits_w / n_w` differs from `hits_b / n_b` (both n > 0): the pooled
    z statistic, with the p-value of Fisher's exact test unless every expected cell is large
    (the normal approximation overstates significance for rare events such as refusals)."""
    if n_b <= 0 or n_w <= 0:
        raise ValueError("both samples need at least one trial")
    p_b, p_w = hits_b / n_b, hits_w / n_w
    pooled = (hits_b + hits_w) / (n_b + n_w)
    se = math.sqrt(pooled * (1.0 - pooled) * (1.0 / n_b + 1.0 / n_w))
    z = 0.0 if se == 0 else (p_w - p_b) / se
    h = 2.0 * math.asin(math.sqrt(p_w)) - 2.0 * math.asin(math.sqrt(p_b))
    smallest = min(n_b, n_w) * min(pooled, 1.0 - pooled)
    if smallest >= LARGE_CELLS:
        return RateTest(p_b, p_w, z, min(1.0, 2.0 * normal_sf(abs(z))), h, "two_proportion_z")
    return RateTest(p_b, p_w, z, fisher_exact(hits_b, n_b, hits_w, n_w), h, "fisher_exact")


@dataclass(frozen=True)
class MixTest:
    """Two categorical distributions compared over the same (pooled) categories."""

    categories: tuple[str, ...]
    baseline: tuple[int, ...]
    window: tuple[int, ...]
    chi2: float
    dof: int
    p_value: float
    psi: float  # population stability index: < 0.1 stable, 0.1 to 0.25 moderate, > 0.25 large
    cramers_v: float

    def shares(self) -> dict[str, dict[str, float]]:
        """Each category's share of its window, baseline and recent."""
        nb, nw = sum(self.baseline), sum(self.window)
        return {
            c: {"baseline": round(b / nb, 6), "window": round(w / nw, 6)}
            for c, b, w in zip(self.categories, self.baseline, self.window, strict=True)
        }


def pool_rare(
    baseline: Mapping[str, int], window: Mapping[str, int]
) -> tuple[list[str], list[int], list[int]]:
    """Categories of both samples, the rare ones pooled under OTHER until every cell's expected
    count reaches MIN_EXPECTED (or one category is left), most common first."""
    nb, nw = sum(baseline.values()), sum(window.values())
    total = nb + nw
    pooled = {c: baseline.get(c, 0) + window.get(c, 0) for c in set(baseline) | set(window)}
    order = sorted((c for c in pooled if pooled[c] > 0), key=lambda c: (-pooled[c], c))
    floor = MIN_EXPECTED * total / max(1, min(nb, nw))  # pooled count whose smaller cell is 5
    kept = [c for c in order if pooled[c] >= floor]
    rare = [c for c in order if pooled[c] < floor]
    other = OTHER
    if rare and kept and sum(pooled[c] for c in rare) < floor:
        rare.insert(0, kept.pop())  # too small alone: the pool joins the rarest kept category
        other = f"{rare[0]}+{OTHER}"
    cats = kept + ([other] if rare else [])
    b = [baseline.get(c, 0) for c in kept] + (
        [sum(baseline.get(c, 0) for c in rare)] if rare else []
    )
    w = [window.get(c, 0) for c in kept] + ([sum(window.get(c, 0) for c in rare)] if rare else [])
    return cats, b, w


def psi(baseline: list[int], window: list[int]) -> float:
    """Population stability index: the sum of (w - b) ln(w / b) over category shares, each share
    smoothed by half a count so that an empty category stays finite."""
    k = len(baseline)
    nb, nw = sum(baseline) + 0.5 * k, sum(window) + 0.5 * k
    total = 0.0
    for cb, cw in zip(baseline, window, strict=True):
        pb, pw = (cb + 0.5) / nb, (cw + 0.5) / nw
        total += (pw - pb) * math.log(pw / pb)
    return total


def compare_mix(baseline: Mapping[str, int], window: Mapping[str, int]) -> MixTest | None:
    """The chi-square test of homogeneity of two samples (a 2 x k table) and the PSI, over the
    categories left after pooling rare ones; None when fewer than two categories remain."""
    cats, b, w = pool_rare(baseline, window)
    if len(cats) < 2:
        return None
    nb, nw = sum(b), sum(w)
    total = nb + nw
    chi2 = 0.0
    for cb, cw in zip(b, w, strict=True):
        column = cb + cw
        for observed, row in ((cb, nb), (cw, nw)):
            expected = row * column / total
            chi2 += (observed - expected) ** 2 / expected
    dof = len(cats) - 1
    return MixTest(
        tuple(cats),
        tuple(b),
        tuple(w),
        chi2,
        dof,
        chi2_sf(chi2, dof),
        psi(b, w),
        math.sqrt(chi2 / total),  # min(rows, columns) - 1 = 1 for two samples
    )


def quantile_bins(
    baseline: Sequence[float], window: Sequence[float], bins: int = 10
) -> tuple[dict[str, int], dict[str, int]]:
    """Both samples of a continuous value counted in the bins the baseline's quantiles cut
    (deciles by default), named by their upper edge (`<=0.0123`, the last `>0.0456`): the
    usual construction of the PSI, each bin holding about 1 / `bins` of the baseline. Tied
    edges merge, so a value the baseline mostly repeats is one bin."""
    ordered = sorted(baseline)
    if not ordered:
        return {}, {}
    cuts = sorted(
        {ordered[min(len(ordered) - 1, len(ordered) * k // bins)] for k in range(1, bins)}
    )
    names = [f"<={edge:.6g}" for edge in cuts] + [f">{cuts[-1]:.6g}"]

    def count(values: Sequence[float]) -> dict[str, int]:
        found = Counter(names[bisect.bisect_left(cuts, v)] for v in values)
        return {name: found[name] for name in names if found[name]}

    return count(baseline), count(window)
