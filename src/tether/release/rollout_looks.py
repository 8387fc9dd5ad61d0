"""One look at a rollout's step: every guard's non-inferiority test on both arms' concluded
conversations, and what the rollout does about it (advance, roll back, or wait for more).

A guard passes when its p-value is at most the look's level, and fails when the opposite
one-sided p-value is (the data show the bound broken); on the last look a guard still undecided
fails too, because non-inferiority was not shown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tether.release.rollout_guards import ArmSample, Conversation, Guard

BASELINE, CANDIDATE = "baseline", "candidate"


@dataclass(frozen=True)
class Look:
    """One look at a step: each guard's outcome, and what the rollout does about it."""

    arms: Mapping[str, Mapping[str, Any]]
    guards: tuple[dict[str, Any], ...]
    verdict: str  # advance | rollback | wait

    def public(self) -> dict[str, Any]:
        """What the rollout keeps of the look: both arms' KPIs and each guard's test."""
        guards = [{k: g[k] for k in ("expr", "passed", "p_value")} for g in self.guards]
        return {"arms": dict(self.arms), "guards": guards}

    def reason(self, look: int, looks: int) -> str:
        failed = [g for g in self.guards if g["passed"] is False]
        open_ = [g for g in self.guards if g["passed"] is None]
        where = f"look {look} of {looks}"
        if self.verdict == "advance":
            return f"every guard shown non-inferior at {where}"
        if self.verdict == "wait":
            return f"undecided at {where}: " + "; ".join(_show(g) for g in open_)
        if any("inferior" in g for g in failed):
            broke = [g for g in failed if g.get("inferior")]
            return f"guard broken at {where}: " + "; ".join(_show(g) for g in broke)
        return f"non-inferiority not shown by the last look ({where}): " + "; ".join(
            _show(g) for g in failed
        )


def _show(guard: Mapping[str, Any]) -> str:
    p = guard["p_value"]
    if p is not None:
        return f"{guard['expr']} (p={p})"
    if guard.get("missing"):
        return f"{guard['expr']} (no value for {guard['missing']} conversations)"
    return f"{guard['expr']} (no data)"


def take_look(
    guards: Sequence[Guard],
    baseline: Sequence[Conversation],
    candidate: Sequence[Conversation],
    level: float,
    last: bool,
) -> Look:
    """Every guard's test at `level`; on the `last` look an undecided guard fails."""
    samples = ArmSample.of(baseline), ArmSample.of(candidate)
    results = []
    for guard in guards:
        found = guard.test(*samples)
        passed: bool | None = None
        inferior = False
        if found is not None and found.p_value <= level:
            passed = True
        elif found is not None and found.p_inferior <= level:
            passed, inferior = False, True
        elif last:
            passed = False
        p = None if found is None else round(found.p_value, 6)
        result: dict[str, Any] = {"expr": guard.expr, "passed": passed, "p_value": p}
        if inferior:
            result["inferior"] = True
        missing = sum(s.missing.get(guard.metric, 0) for s in samples)
        if found is None and missing:  # e.g. a model without a price: unknown, never zero
            result["missing"] = missing
        results.append(result)
    if any(r["passed"] is False for r in results):
        verdict = "rollback"
    elif all(r["passed"] for r in results):
        verdict = "advance"
    else:
        verdict = "wait"
    arms = {BASELINE: samples[0].kpis(), CANDIDATE: samples[1].kpis()}
    return Look(arms, tuple(results), verdict)
