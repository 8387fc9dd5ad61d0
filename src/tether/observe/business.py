"""Business KPIs of recorded traffic: cost, handle time, first-contact resolution, compliance
incidents, audit completeness and the freshness of the evidence cited.

Each ended run is read once into a `RunFacts` (what these KPIs need of its steps); a
conversation is the ordered `RunFacts` of its turns. The figures are then pure functions of
those values, so that they are the same on SQLite and PostgreSQL and testable without a store.
The exact definitions are in the README ("Business KPIs").
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tether.observe.prices import PriceTable
from tether.observe.run_facts import Entity, RunFacts, audit_gaps, tokens_cost

CONCLUDING = ("answer", "action", "escalation", "refusal")  # a turn that waits on no one
RESOLVING = ("answer", "action")
FOLLOW_UP_S = 72 * 3600.0  # a repeat contact within this long undoes a first-contact resolution
GENERAL = ("", "")  # the entity of a conversation that names none: the principal's account


def handle_time_s(first_started: float, last_ended: float) -> float:
    """A conversation's handle time: from the start of its first turn to the end of its last."""
    return max(0.0, last_ended - first_started)


@dataclass
class Conversation:
    """A conversation's principal, release, start and its turns' runs, oldest first."""

    id: str
    principal: str
    release: str | None
    created_at: float
    turns: list[RunFacts]

    @property
    def concluded(self) -> bool:
        """Its latest turn ended in a decision that waits on no one."""
        return bool(self.turns) and self.turns[-1].decision in CONCLUDING

    @property
    def escalated(self) -> bool:
        """A turn ended in an escalation, or waited for a person's approval."""
        return any(t.decision == "escalation" or t.waited_for_approval for t in self.turns)

    @property
    def resolved(self) -> bool:
        """Concluded with an answer or an action, and never escalated."""
        return self.concluded and self.turns[-1].decision in RESOLVING and not self.escalated

    @property
    def ended_at(self) -> float:
        return self.turns[-1].ended_at if self.turns else self.created_at

    @property
    def handle_time_s(self) -> float:
        """From the start of its first turn to the end of its last."""
        return handle_time_s(self.turns[0].created_at, self.ended_at) if self.turns else 0.0

    @property
    def entities(self) -> set[Entity]:
        """The resources its tool calls named; the principal's account when they named none."""
        found = set().union(*(t.entities for t in self.turns)) if self.turns else set()
        return found or {GENERAL}


def repeated(conversation: Conversation, others: Sequence[Conversation], within_s: float) -> bool:
    """Whether the same principal opened another conversation about one of its entities after
    it started and at most `within_s` after it ended."""
    mine = conversation.entities
    deadline = conversation.ended_at + within_s
    return any(
        o.id != conversation.id
        and o.principal == conversation.principal
        and conversation.created_at < o.created_at <= deadline
        and bool(mine & o.entities)
        for o in others
    )


def _ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 6) if whole else None


def _quantile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))], 3)


def cost_figures(runs: Sequence[RunFacts], prices: PriceTable) -> dict[str, Any]:
    """Tokens by model and their cost; cost is None when some tokens have no price."""
    tokens: Counter[tuple[str, str]] = Counter()
    for run in runs:
        tokens.update(run.tokens)
    models = sorted({m for m, _ in tokens})
    total, unpriced = tokens_cost(tokens, prices)
    return {
        "tokens": {m: {"input": tokens[m, "input"], "output": tokens[m, "output"]} for m in models},
        "total": None if unpriced else round(total, 6),
        "unpriced_models": unpriced,
    }


def conversation_figures(
    conversations: Sequence[Conversation],
    others: Sequence[Conversation],
    now: float,
    within_s: float = FOLLOW_UP_S,
) -> dict[str, Any]:
    """Handle time, resolution and first-contact resolution of `conversations`; `others`
    are every conversation a repeat contact may be (those of the same principals)."""
    concluded = [c for c in conversations if c.concluded]
    resolved = [c for c in concluded if c.resolved]
    judged = [c for c in concluded if now >= c.ended_at + within_s]
    first = [c for c in judged if c.resolved and not repeated(c, others, within_s)]
    times = [c.handle_time_s for c in concluded]
    return {
        "conversations": len(conversations),
        "concluded": len(concluded),
        "resolved": len(resolved),
        "resolution_rate": _ratio(len(resolved), len(concluded)),
        "handle_time_s": round(statistics.fmean(times), 3) if times else None,
        "fcr_judged": len(judged),
        "fcr_pending": len(concluded) - len(judged),
        "first_contact_resolved": len(first),
        "first_contact_resolution": _ratio(len(first), len(judged)),
    }


def compliance_figures(runs: Sequence[RunFacts]) -> dict[str, Any]:
    """Writes denied or escalated, in all and by rule and effect."""
    by_rule: dict[str, Counter[str]] = {}
    for run in runs:
        for rule, effect in run.incidents:
            by_rule.setdefault(rule, Counter())[effect] += 1
    total = sum(sum(c.values()) for c in by_rule.values())
    return {
        "incidents": total,
        "incidents_per_run": _ratio(total, len(runs)),
        "by_rule": {r: dict(sorted(by_rule[r].items())) for r in sorted(by_rule)},
    }


def audit_figures(
    runs: Sequence[RunFacts], recorded: Mapping[str, Counter[str]], examples: int = 5
) -> dict[str, Any]:
    """Runs whose every step that gives rise to an audit event has it in the chain:
    `recorded` holds each run's events by kind."""
    missing: Counter[str] = Counter()
    incomplete: list[str] = []
    for run in runs:
        short = audit_gaps(run, recorded.get(run.id, Counter()))
        if short:
            missing.update(short)
            incomplete.append(run.id)
    complete = len(runs) - len(incomplete)
    return {
        "runs": len(runs),
        "complete": complete,
        "audit_completeness": _ratio(complete, len(runs)),
        "missing_events": dict(sorted(missing.items())),
        "incomplete_examples": incomplete[:examples],
    }


def freshness_figures(
    runs: Sequence[RunFacts], ingested: Mapping[tuple[str, str], float]
) -> dict[str, Any]:
    """The age, when each run started, of every document version its decision cited."""
    ages: list[float] = []
    unknown = 0
    for run in runs:
        for cited in run.cited:
            at = ingested.get(cited)
            if at is None:
                unknown += 1
            else:
                ages.append(max(0.0, run.created_at - at))
    return {
        "evidence_cited": len(ages) + unknown,
        "evidence_unknown": unknown,
        "evidence_age_p50_s": _quantile(ages, 0.5),
        "evidence_age_p95_s": _quantile(ages, 0.95),
        "evidence_age_max_s": round(max(ages), 3) if ages else None,
    }


def release_report(
    release: str | None,
    runs: Sequence[RunFacts],
    conversations: Sequence[Conversation],
    others: Sequence[Conversation],
    recorded: Mapping[str, Counter[str]],
    ingested: Mapping[tuple[str, str], float],
    prices: PriceTable,
    now: float,
    within_s: float = FOLLOW_UP_S,
) -> dict[str, Any]:
    """Every business KPI of one release's runs and conversations."""
    cost = cost_figures(runs, prices)
    talk = conversation_figures(conversations, others, now, within_s)
    conversation_cost = cost_figures([t for c in conversations for t in c.turns], prices)
    spent = conversation_cost["total"]
    per_resolved = None if spent is None else _ratio(spent, talk["resolved"])
    cost.update(
        per_run=None if cost["total"] is None else _ratio(cost["total"], len(runs)),
        per_resolved_conversation=per_resolved,
    )
    return {
        "release": release,
        "runs": len(runs),
        "cost": cost,
        "conversations": talk,
        "compliance": compliance_figures(runs),
        "audit": audit_figures(runs, recorded),
        "freshness": freshness_figures(runs, ingested),
    }


def headline(report: Mapping[str, Any]) -> dict[str, float | None]:
    """A release report's KPIs as one flat mapping of name -> value (for gauges and guards)."""
    return {
        "cost_per_run": report["cost"]["per_run"],
        "cost_per_resolved_conversation": report["cost"]["per_resolved_conversation"],
        "handle_time_s": report["conversations"]["handle_time_s"],
        "first_contact_resolution": report["conversations"]["first_contact_resolution"],
        "compliance_incidents_per_run": report["compliance"]["incidents_per_run"],
        "audit_completeness": report["audit"]["audit_completeness"],
        "evidence_age_p95_s": report["freshness"]["evidence_age_p95_s"],
    }
