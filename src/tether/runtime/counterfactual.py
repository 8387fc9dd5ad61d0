"""Counterfactual replay: what recorded runs would have done under another configuration.

Each run's recorded proposals are re-checked by a candidate's runtime (model outputs and tool
results held as recorded), and the first place a run would end differently is named with the
rules that changed it. Kept apart from the deterministic replay (`tether.runtime.replay`) it
builds on: that one asks whether a run is identical, this one what a change would change.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tether.core.errors import ErrorCode, TetherError
from tether.core.types import Run
from tether.runtime.replay_record import _HEADER_PATHS
from tether.runtime.replay_report import ReplayReport

if TYPE_CHECKING:
    from tether.runtime.replay import Replayer


def deciding_rules(verdict: Mapping[str, Any]) -> list[str]:
    """The rules that decided a verdict: the policy rules that determined it, else the check
    and its reason codes (`premises:PREMISE_FAILED`)."""
    facts = verdict.get("facts") or {}
    determining = facts.get("determining") if isinstance(facts, Mapping) else None
    if isinstance(determining, list) and determining:
        return sorted({str(d.get("id")) for d in determining if isinstance(d, Mapping)})
    codes = sorted({str(r.get("code")) for r in verdict.get("reasons") or ()})
    return [f"{verdict.get('check')}:{code}" for code in codes] or [str(verdict.get("check"))]


_UNREPLAYABLE_PATHS = ("agent", "record", "tools", "turn", "approval", *_HEADER_PATHS)
# a tool step its guard did not let act: what follows a verdict that changed, else a forgery
_UNGUARDED_PATHS = ("guard", "arguments")


def unreplayable(report: ReplayReport) -> str | None:
    """Why a report cannot say what a run would have done (a record that does not read back,
    an agent the configuration lacks, a read the record does not hold); None when it can."""
    for diff in report.diffs:
        if diff.path in _UNREPLAYABLE_PATHS:
            return f"step {diff.step} {diff.kind}: {diff.path} {diff.replayed!r}"
    for seq, remade in sorted(report.verdicts.items()):
        if ErrorCode.REPLAY_READ_MISSING.value in json.dumps(remade.to_dict(), default=str):
            return f"step {seq}: a check read what the record does not hold (REPLAY_READ_MISSING)"
    return None


def first_change(run: Run, report: ReplayReport) -> dict[str, Any] | None:
    """Where a run re-checked under another configuration first ends differently: the first
    guard whose final effect changes (what follows it is no longer what would have happened),
    else a Decision derived differently; None when neither."""
    for step in run.steps:
        remade = report.verdicts.get(step.seq)
        if remade is None:
            continue
        before, after = str(step.data.get("effect")), remade.final.effect.value
        if before == after:
            continue
        decided = str(step.data.get("decided_by"))
        verdicts = step.data.get("verdicts") or ()
        held: Mapping[str, Any] = next((v for v in verdicts if v.get("check") == decided), {})
        deciding: Mapping[str, Any]
        if after == "allow":  # a block lifted: the rule that blocked it is what changed
            deciding, rules = held, deciding_rules(held)
        else:
            deciding, rules = remade.final.to_dict(), deciding_rules(remade.final.to_dict())
            if before != "allow":  # stricter: the rules that decided it before did not change it
                kept = set(deciding_rules(held))
                rules = [r for r in rules if r not in kept] or rules
        reasons = deciding.get("reasons") or ()
        return {
            "run": run.id,
            "step": step.seq,
            "proposal": step.name,
            "change": f"{before}->{after}",
            "rules": rules,
            "reason": str(reasons[0].get("message", "")) if reasons else "",
            "decision": run.decision.kind.value if run.decision else None,
        }
    moved = next((d for d in report.diffs if d.path.startswith("decision.")), None)
    if moved is None:
        return None
    return {
        "run": run.id,
        "step": moved.step,
        "proposal": "decision",
        "change": f"decision:{moved.recorded}->{moved.replayed}",
        "rules": [moved.path],
        "reason": "",
        "decision": run.decision.kind.value if run.decision else None,
    }


def counterfactual(replayer: Replayer, runs: Sequence[Run], examples: int = 5) -> dict[str, Any]:
    """`{"runs", "changed", "by_change", "by_rule", "examples", "errors"}`: each run's recorded
    proposals re-checked by the replayer's runtime (a candidate's), model outputs and tool
    results held as recorded; a run changed where `first_change` finds one, counted by
    `"recorded->re-made"` effect and by the rules that decided. A run that cannot be re-checked
    (`unreplayable`) counts as an error, with its reason among the examples, never as
    unchanged nor as a rule's change."""
    by_change: Counter[str] = Counter()
    by_rule: Counter[str] = Counter()
    changed, errors = 0, 0
    shown: list[dict[str, Any]] = []
    for run in runs:
        try:
            report = replayer.replay(run)
            why = unreplayable(report)
        except TetherError as exc:
            why = f"{exc.code.value}: {exc.message}"
        if why is not None:
            errors += 1
            if len(shown) < examples:
                shown.append({"run": run.id, "error": why})
            continue
        change = first_change(run, report)
        if change is None and any(d.path in _UNGUARDED_PATHS for d in report.diffs):
            errors += 1  # no verdict changed, yet a call acted unguarded: the record is wrong
            if len(shown) < examples:
                shown.append({"run": run.id, "error": "a tool step no guard let act"})
            continue
        if change is None:
            continue
        changed += 1
        by_change[change["change"]] += 1
        by_rule.update(change["rules"])
        if len(shown) < examples:
            shown.append(change)
    return {
        "runs": len(runs),
        "changed": changed,
        "by_change": dict(by_change.most_common()),
        "by_rule": dict(by_rule.most_common()),
        "examples": shown,
        "errors": errors,
    }
