"""A rollout's plan and where it stands: the steps of traffic a candidate takes, the checks on a
plan before it starts, the arm each conversation takes, and the `Rollout` value with its states.

Assignment is sticky: a conversation (or, when given, its principal, so that one customer never
sees both releases) hashes with the rollout's id into [0, 100), and takes the candidate when the
hash is below the step's traffic share; the share only grows, so nobody moves back.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tether.core.errors import ErrorCode, TetherError
from tether.release.rollout_looks import BASELINE, CANDIDATE

RUNNING, PROMOTED, ROLLED_BACK = "running", "promoted", "rolled_back"
DEFAULT_STEPS = (5, 25, 50, 100)
DEFAULT_LOOKS = 4
DEFAULT_ALPHA = 0.05
MIN_RUNS_FLOOR = 50  # below this a p95 has almost no tail to estimate from
MIN_RUNS_CEILING = 10_000_000  # more than a step could ever see (and than a column holds)
MAX_LOOKS = 20
# what one live look reads per arm (the newest conversations of the step): a plan whose last
# look needs more could never be decided by live traffic
LIVE_LOOK_CAP = 20_000


def assign(rollout_id: str, traffic_pct: float, conversation: str, principal: str = "") -> str:
    """The arm (`candidate` or `baseline`) a conversation takes at `traffic_pct` percent."""
    key = f"principal:{principal}" if principal else f"conversation:{conversation}"
    digest = hashlib.sha256(f"{rollout_id}\n{key}".encode()).digest()
    position = int.from_bytes(digest[:8], "big") / 2**64 * 100.0  # uniform in [0, 100)
    return CANDIDATE if position < traffic_pct else BASELINE


def check_plan(
    steps: Sequence[int], min_runs: int, looks: int, alpha: float, live: bool = True
) -> tuple[int, ...]:
    """The steps if the plan can run; ROLLOUT_INVALID naming the problem otherwise. A `live`
    plan's last look (`looks` x `min_runs` per arm) must fit what a live look reads."""
    plan = tuple(steps)
    if len(plan) < 2 or plan[-1] != 100:
        raise TetherError(
            ErrorCode.ROLLOUT_INVALID,
            f"steps {list(plan)} must hold at least one share below 100 and end at 100, "
            "e.g. 5,25,50,100",
        )
    if any(not 0 < s <= 100 for s in plan) or any(a >= b for a, b in itertools.pairwise(plan)):
        raise TetherError(
            ErrorCode.ROLLOUT_INVALID,
            f"steps {list(plan)} must be percentages from 1 to 100 that only grow",
        )
    if min_runs < MIN_RUNS_FLOOR:
        raise TetherError(
            ErrorCode.ROLLOUT_INVALID,
            f"min runs {min_runs} is too few: each arm needs at least {MIN_RUNS_FLOOR} "
            "concluded conversations per look",
        )
    if min_runs > MIN_RUNS_CEILING:
        raise TetherError(
            ErrorCode.ROLLOUT_INVALID,
            f"min runs {min_runs} is too many: at most {MIN_RUNS_CEILING} per look",
        )
    if not 1 <= looks <= MAX_LOOKS:
        raise TetherError(ErrorCode.ROLLOUT_INVALID, f"looks must be from 1 to {MAX_LOOKS}")
    if not 0 < alpha < 0.5:
        raise TetherError(ErrorCode.ROLLOUT_INVALID, "alpha must be above 0 and below 0.5")
    if live and min_runs * looks > LIVE_LOOK_CAP:
        raise TetherError(
            ErrorCode.ROLLOUT_INVALID,
            f"min runs {min_runs} x {looks} looks needs {min_runs * looks} concluded "
            f"conversations per arm at the last look; a live look reads at most {LIVE_LOOK_CAP} "
            "per arm, so the step could never be decided (lower --min-runs or --looks)",
        )
    return plan


@dataclass(frozen=True)
class Rollout:
    """A rollout's plan and where it stands."""

    id: str
    candidate: str
    baseline: str
    state: str
    steps: tuple[int, ...]
    step: int  # 1-based
    min_runs: int
    looks: int
    look: int
    alpha: float
    guards: tuple[str, ...]
    started_at: float
    started_by: str
    updated_at: float
    reason: str
    evaluation: Mapping[str, Any]
    step_started_at: float = 0.0  # when the current step began

    @property
    def traffic_pct(self) -> int:
        """The candidate's share of traffic now (0 once rolled back)."""
        return 0 if self.state == ROLLED_BACK else self.steps[self.step - 1]

    @property
    def runs_needed(self) -> int:
        """Concluded conversations each arm needs in this step for the next look."""
        return self.min_runs * min(self.look + 1, self.looks)

    def status(self) -> dict[str, Any]:
        """What `tether rollout status --json` prints."""
        empty = {"n": 0}
        arms = self.evaluation.get("arms", {})
        return {
            "candidate": self.candidate,
            "baseline": self.baseline,
            "state": self.state,
            "step": self.step,
            "traffic_pct": self.traffic_pct,
            "arms": {BASELINE: arms.get(BASELINE, empty), CANDIDATE: arms.get(CANDIDATE, empty)},
            "guards": list(
                self.evaluation.get("guards")
                or [{"expr": g, "passed": None, "p_value": None} for g in self.guards]
            ),
            "reason": self.reason,
        }
