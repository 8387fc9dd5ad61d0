"""Scripted traffic for a rollout: synthetic conversations whose outcomes are drawn per arm from
a profile, assigned to arms exactly as live traffic would be, and fed to the rollout's looks
until it is promoted, rolled back, or the traffic runs out. For demos and tests: nothing calls
a model or a tool.

Each turn also spends model tokens, costed at `SIM_PRICES` by the business KPIs' own pricing, and
may meet a compliance incident or miss an audit event. These draws come from a stream of their
own, so that a seed's outcomes stay what they were without them.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import dataclass, replace

from tether.core.types import DecisionKind
from tether.observe.prices import ModelPrice, PriceTable
from tether.observe.run_facts import tokens_cost
from tether.release.rollout import Rollouts
from tether.release.rollout_guards import Conversation, Turn
from tether.release.rollout_looks import BASELINE, CANDIDATE
from tether.release.rollout_plan import RUNNING, Rollout, assign


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
    tokens_median: float = 1200.0  # input tokens per turn (a quarter as many come out)
    tokens_sigma: float = 0.6
    think_median_s: float = 20.0  # the customer's pause before the next turn
    incident_rate: float = 0.02  # turns in which a rule denies or escalates a write
    audit_gap_rate: float = 0.0  # turns with an audit event missing from the chain

    def check(self) -> Profile:
        shares = (self.unsupported_rate, self.escalation_rate, self.refusal_rate,
                  self.tool_use_rate, self.tool_error_rate, self.clarify_rate,
                  self.confirm_rate, self.abandon_rate, self.incident_rate,
                  self.audit_gap_rate)  # fmt: skip
        if any(not 0.0 <= s <= 1.0 for s in shares) or self.escalation_rate + self.refusal_rate > 1:
            raise ValueError("profile shares must lie in [0, 1]")
        if self.latency_median_s <= 0 or self.latency_sigma < 0:
            raise ValueError("latency must be positive")
        if self.tokens_median <= 0 or self.tokens_sigma < 0 or self.think_median_s <= 0:
            raise ValueError("tokens and think time must be positive")
        return self


SIM_MODEL = "sim-model"
SIM_PRICES = PriceTable({SIM_MODEL: ModelPrice(input_per_1k=0.5, output_per_1k=1.5)})


def _business(rng: random.Random, profile: Profile, turns: list[Turn]) -> tuple[Turn, ...]:
    """The turns with their start, cost, incidents and audit drawn from `rng`."""
    out, at = [], 0.0
    for turn in turns:
        spent = round(rng.lognormvariate(math.log(profile.tokens_median), profile.tokens_sigma))
        tokens = Counter({(SIM_MODEL, "input"): spent, (SIM_MODEL, "output"): spent // 4})
        cost, _ = tokens_cost(tokens, SIM_PRICES)
        out.append(
            replace(
                turn,
                started_at=at,
                cost=cost,
                incident=rng.random() < profile.incident_rate,
                audited=rng.random() >= profile.audit_gap_rate,
            )
        )
        at += turn.latency_s + rng.lognormvariate(math.log(profile.think_median_s), 0.5)
    return tuple(out)


def conversation(
    rng: random.Random, profile: Profile, cid: str, business: random.Random | None = None
) -> Conversation:
    """One synthetic conversation drawn from `profile` (its business figures from `business`,
    else from `rng`)."""
    spend = rng if business is None else business
    mu = math.log(profile.latency_median_s)

    def latency() -> float:
        return round(rng.lognormvariate(mu, profile.latency_sigma), 4)

    turns: list[Turn] = []
    if rng.random() < profile.clarify_rate:
        turns.append(Turn(DecisionKind.CLARIFICATION, latency()))
    if rng.random() < profile.confirm_rate:
        turns.append(Turn(DecisionKind.CONFIRMATION, latency(), tool_calls=1))
    if turns and rng.random() < profile.abandon_rate:
        return Conversation(cid, _business(spend, profile, turns))
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
    return Conversation(cid, _business(spend, profile, [*turns, last]))


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
    business = random.Random(f"business:{seed}")
    salt = f"simulation:{seed}"  # hashed in place of the rollout's id: a seed replays its traffic
    profiles = {BASELINE: baseline.check(), CANDIDATE: candidate.check()}
    arms: dict[str, list[Conversation]] = {BASELINE: [], CANDIDATE: []}
    done = {BASELINE: 0, CANDIDATE: 0}
    for i in range(runs):
        if rollout.state != RUNNING:
            break
        cid = f"sim-{seed}-{i}"
        arm = assign(salt, rollout.traffic_pct, cid)
        conv = conversation(rng, profiles[arm], cid, business)
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
