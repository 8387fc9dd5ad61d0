"""Scripted traffic for a rollout: synthetic conversations whose outcomes are drawn per arm from
a profile, assigned to arms exactly as live traffic would be, and fed to the rollout's looks
until it is promoted, rolled back, or the traffic runs out. For demos and tests: nothing calls
a model or a tool.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from tether.core.types import DecisionKind
from tether.release.rollout import RUNNING, Rollout, Rollouts, assign
from tether.release.rollout_guards import Conversation, Turn
from tether.release.rollout_looks import BASELINE, CANDIDATE


@dataclass(frozen=True)
class Profile:
    """How an arm behaves. Every share is of conversations; `unsupported_rate` is the share of
    answers given without evidence, which the claims check stops (the turn ends in a refusal)."""

    unsupported_rate: float = 0.05
    escalation_rate: float = 0.08
    refusal_rate: float = 0.04
    tool_use_rate: float = 0.6
    tool_error_rate: float = 0.03
    clarify_rate: float = 0.5  # a first turn that asks the customer something
    confirm_rate: float = 0.3  # ... and one that waits for a yes before a write
    abandon_rate: float = 0.04  # conversations left waiting on the user (no outcome)
    latency_median_s: float = 1.2
    latency_sigma: float = 0.5

    def check(self) -> Profile:
        shares = (self.unsupported_rate, self.escalation_rate, self.refusal_rate,
                  self.tool_use_rate, self.tool_error_rate, self.clarify_rate,
                  self.confirm_rate, self.abandon_rate)  # fmt: skip
        if any(not 0.0 <= s <= 1.0 for s in shares) or self.escalation_rate + self.refusal_rate > 1:
            raise ValueError("profile shares must lie in [0, 1]")
        if self.latency_median_s <= 0 or self.latency_sigma < 0:
            raise ValueError("latency must be positive")
        return self


def conversation(rng: random.Random, profile: Profile, cid: str) -> Conversation:
    """One synthetic conversation drawn from `profile`."""
    mu = math.log(profile.latency_median_s)

    def latency() -> float:
        return round(rng.lognormvariate(mu, profile.latency_sigma), 4)

    turns: list[Turn] = []
    if rng.random() < profile.clarify_rate:
        turns.append(Turn(DecisionKind.CLARIFICATION, latency()))
    if rng.random() < profile.confirm_rate:
        turns.append(Turn(DecisionKind.CONFIRMATION, latency(), tool_calls=1))
    if turns and rng.random() < profile.abandon_rate:
        return Conversation(cid, tuple(turns))
    calls = 1 if rng.random() < profile.tool_use_rate else 0
    errors = 1 if calls and rng.random() < profile.tool_error_rate else 0
    draw = rng.random()
    if draw < profile.escalation_rate:
        last = Turn(DecisionKind.ESCALATION, latency(), calls, errors)
    elif draw < profile.escalation_rate + profile.refusal_rate:
        last = Turn(DecisionKind.REFUSAL, latency(), calls, errors)
    elif rng.random() < profile.unsupported_rate:
        last = Turn(DecisionKind.REFUSAL, latency(), calls, errors, True, True)
    else:
        kind = DecisionKind.ACTION if calls and rng.random() < 0.5 else DecisionKind.ANSWER
        last = Turn(kind, latency(), calls, errors, verified=True)
    return Conversation(cid, (*turns, last))


def simulate(
    rollouts: Rollouts,
    rollout: Rollout,
    baseline: Profile,
    candidate: Profile,
    runs: int,
    seed: int,
) -> Rollout:
    """Drive `rollout` with up to `runs` synthetic conversations (seeded), each assigned to its
    arm at the step's traffic share; returns the rollout as the traffic left it."""
    rng = random.Random(seed)
    salt = f"simulation:{seed}"  # hashed in place of the rollout's id: a seed replays its traffic
    profiles = {BASELINE: baseline.check(), CANDIDATE: candidate.check()}
    arms: dict[str, list[Conversation]] = {BASELINE: [], CANDIDATE: []}
    done = {BASELINE: 0, CANDIDATE: 0}
    for i in range(runs):
        if rollout.state != RUNNING:
            break
        cid = f"sim-{seed}-{i}"
        arm = assign(salt, rollout.traffic_pct, cid)
        conv = conversation(rng, profiles[arm], cid)
        arms[arm].append(conv)
        done[arm] += conv.concluded
        if min(done.values()) < rollout.runs_needed:
            continue
        step = rollout.step
        rollout = rollouts.observe(rollout, arms[BASELINE], arms[CANDIDATE])
        if rollout.step != step:  # a new step compares its own traffic only
            arms = {BASELINE: [], CANDIDATE: []}
            done = {BASELINE: 0, CANDIDATE: 0}
    return rollout
