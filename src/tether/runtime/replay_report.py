"""What a replay reports: where a run's re-made decisions first differ from its record.

Kept apart from the walk that re-makes them (`tether.runtime.replay`): the report values, the
comparison of two recorded values that finds a difference, and the summary over many runs are
what the CLI, the SDK and the benchmarks read, whatever produced them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tether.core.errors import TetherError
from tether.core.guard import GuardResult
from tether.core.types import Decision, Run, Step

if TYPE_CHECKING:
    from tether.runtime.replay import Replayer

# facts no evaluation reproduces: how long something took (`ms`, `policy_ms`, `latency_ms`)
_TIMING = "ms"


@dataclass(frozen=True)
class Divergence:
    """Where a replay first differs from the record within one step."""

    step: int
    kind: str
    name: str
    path: str  # where in the step: "verdicts[2].effect", "decision.kind", ...
    recorded: Any
    replayed: Any

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "kind": self.kind,
            "name": self.name,
            "path": self.path,
            "recorded": self.recorded,
            "replayed": self.replayed,
        }


@dataclass
class ReplayReport:
    """`{"run", "identical", "diffs", ...}`: the diffs in step order, the first one first."""

    run: str
    release: str
    steps: int = 0
    checked: int = 0  # guard steps whose checks ran again
    decision: str = "derived"  # derived | recorded (see the module's docstring) | none
    diffs: list[Divergence] = field(default_factory=list)
    not_replayed: list[str] = field(default_factory=list)
    # the re-made verdicts, by step (a counterfactual replay reads these)
    verdicts: dict[int, GuardResult] = field(default_factory=dict)
    derived: Decision | None = None

    @property
    def identical(self) -> bool:
        return not self.diffs

    def to_dict(self) -> dict[str, Any]:
        return {
            "run": self.run,
            "identical": self.identical,
            "diffs": [d.to_dict() for d in self.diffs],
            "release": self.release,
            "steps": self.steps,
            "checked": self.checked,
            "decision": self.decision,
            "not_replayed": sorted(set(self.not_replayed)),
        }


def comparable(value: Any, unkept: Collection[str] = ()) -> Any:
    """A recorded value without what no evaluation reproduces (timings), nor the keys in
    `unkept` (what the record did not keep)."""
    if isinstance(value, Mapping):
        return {
            str(k): comparable(v, unkept)
            for k, v in value.items()
            if k not in unkept and str(k).rpartition("_")[2] != _TIMING
        }
    if isinstance(value, (list, tuple)):
        return [comparable(v, unkept) for v in value]
    return value


def first_difference(recorded: Any, replayed: Any, path: str = "") -> tuple[str, Any, Any] | None:
    """The first place two JSON values differ: (path, recorded part, replayed part)."""
    if isinstance(recorded, Mapping) and isinstance(replayed, Mapping):
        for key in sorted(set(recorded) | set(replayed)):
            where = f"{path}.{key}" if path else str(key)
            if key not in recorded or key not in replayed:
                return where, recorded.get(key), replayed.get(key)
            found = first_difference(recorded[key], replayed[key], where)
            if found is not None:
                return found
        return None
    if isinstance(recorded, list) and isinstance(replayed, list):
        for index, (a, b) in enumerate(zip(recorded, replayed, strict=False)):
            found = first_difference(a, b, f"{path}[{index}]")
            if found is not None:
                return found
        if len(recorded) != len(replayed):
            return f"{path}.length", len(recorded), len(replayed)
        return None
    return None if recorded == replayed else (path, recorded, replayed)


def _diff(step: Step, path: str, recorded: Any, replayed: Any) -> Divergence:
    return Divergence(step.seq, step.kind.value, step.name, path, recorded, replayed)


def replay_runs(replayer: Replayer, runs: Sequence[Run], examples: int = 5) -> dict[str, Any]:
    """`{"runs", "identical", "diverged", "examples"}` over `runs` (the first diverging ones as
    examples, each with its first difference); a run that cannot be replayed counts as
    diverged with its error."""
    identical, diverged = 0, 0
    shown: list[dict[str, Any]] = []
    for run in runs:
        try:
            report = replayer.replay(run)
        except TetherError as exc:
            diverged += 1
            if len(shown) < examples:
                shown.append({"run": run.id, "identical": False, "error": exc.to_dict()})
            continue
        if report.identical:
            identical += 1
            continue
        diverged += 1
        if len(shown) < examples:
            shown.append({**report.to_dict(), "diffs": [report.diffs[0].to_dict()]})
    return {"runs": len(runs), "identical": identical, "diverged": diverged, "examples": shown}
