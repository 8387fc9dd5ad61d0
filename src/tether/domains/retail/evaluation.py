"""`tether eval policy`: the store's written rules against the 114 retail gold sequences.

Part one replays each gold sequence as a compliant agent's proposals and counts false blocks:
gold actions that succeed when executed directly but that the desk's checks block or
escalate. Part two injects the deterministic mutations of `tether.domains.retail.mutations` and counts
how many are blocked or escalated by the rule each one breaks.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tether.domains.retail.db import RetailDB
from tether.domains.retail.mutations import MUTATORS, Mutation, World
from tether.domains.retail.ownership import RetailOwnership
from tether.domains.retail.policy import STORE_RULES, retail_engine
from tether.domains.retail.policy_facts import LOOKUPS, Catalog
from tether.domains.retail.replay import (
    Task,
    TaskReplay,
    gold_actions,
    load_tasks,
    opening_message,
    task_principal,
)
from tether.policy import PolicyEngine


@dataclass
class RuleTally:
    """Violations injected against one rule, and how many that rule stopped."""

    injected: int = 0
    caught: int = 0

    def to_dict(self) -> dict[str, int]:
        return {"injected": self.injected, "caught": self.caught}


@dataclass
class PolicyEvalReport:
    """The harness's findings; `to_dict` is the JSON `tether eval policy --json` prints."""

    tasks: int = 0
    gold_actions: int = 0
    gold_blocked: int = 0  # blocked gold actions, false or not
    false_blocks: list[dict[str, Any]] = field(default_factory=list)
    by_rule: dict[str, RuleTally] = field(default_factory=dict)
    misses: list[dict[str, Any]] = field(default_factory=list)
    policy_ms: list[float] = field(default_factory=list)

    @property
    def violations_injected(self) -> int:
        return sum(t.injected for t in self.by_rule.values())

    @property
    def violations_caught(self) -> int:
        return sum(t.caught for t in self.by_rule.values())

    @property
    def median_policy_ms(self) -> float:
        return round(statistics.median(self.policy_ms), 3) if self.policy_ms else 0.0

    @property
    def caught_ratio(self) -> float:
        injected = self.violations_injected
        return self.violations_caught / injected if injected else 1.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "tasks": self.tasks,
            "gold_actions": self.gold_actions,
            "false_blocks": len(self.false_blocks),
            "violations_injected": self.violations_injected,
            "violations_caught": self.violations_caught,
            "by_rule": {rule: t.to_dict() for rule, t in sorted(self.by_rule.items())},
            "median_policy_ms": self.median_policy_ms,
            "gold_blocked": self.gold_blocked,
            "false_block_actions": self.false_blocks,
            "misses": self.misses,
        }


@dataclass(frozen=True)
class _Shared:
    """Read-only data every task uses: a pristine store and indexes of what never changes."""

    pristine: RetailDB
    ownership: RetailOwnership
    catalog: Catalog
    orders: tuple[tuple[str, str], ...]
    users: tuple[tuple[str, str], ...]

    @classmethod
    def build(cls) -> _Shared:
        db = RetailDB.fresh_copy()
        return cls(
            db,
            RetailOwnership(db),  # orders and payment methods never change hands
            Catalog(db.products()),
            tuple((str(o["order_id"]), str(o["user_id"])) for o in db.orders()),
            tuple((str(u["user_id"]), str(u["email"])) for u in db.users()),
        )


def _anonymous_opening(principal: str) -> str:
    return f"Hi, my user id is {principal}. I need some help with my account."


def _replay_gold(
    task: Task, principal: str, shared: _Shared, engine: PolicyEngine, report: PolicyEvalReport
) -> list[Mutation]:
    """Judge every gold action of one task; collect the mutations to inject along the way."""
    actions = gold_actions(task)
    replay = TaskReplay.start(
        principal, opening_message(task), shared.ownership, shared.catalog, engine
    )
    found: dict[str, Mutation] = {}
    try:
        for at, action in enumerate([*actions, None]):
            world = World(replay.db, principal, shared.catalog, shared.orders, shared.users)
            for mutator in MUTATORS:
                if mutator.__name__ not in found:
                    mutation = mutator(world, at, action, actions)
                    if mutation is not None:
                        found[mutator.__name__] = mutation
            if action is None:
                break
            report.gold_actions += 1
            call = replay.next_call(str(action["name"]), action["arguments"])
            proposal = replay.propose(call)
            report.policy_ms.append(proposal.policy_ms)
            # a blocked action still runs, so the rest of the sequence meets the gold records;
            # if it succeeds there, blocking it was a false block
            outcome = replay.execute(call)
            if not outcome.ok:
                # a variant of an action that fails anyway would break two rules at once
                void = [k for k, m in found.items() if m.derived and m.at == at]
                for key in void:
                    del found[key]
            if proposal.blocked:
                report.gold_blocked += 1
                if outcome.ok:
                    final = proposal.chain.final
                    report.false_blocks.append(
                        {
                            "task": task["id"],
                            "action": action["action_id"],
                            "tool": call.name,
                            "check": final.check,
                            "reasons": [r.message for r in final.reasons],
                        }
                    )
    finally:
        replay.close()
    return list(found.values())


def _inject(
    task: Task,
    principal: str,
    mutation: Mutation,
    shared: _Shared,
    engine: PolicyEngine,
    report: PolicyEvalReport,
) -> None:
    """Replay the gold prefix, propose the mutated call, and score it."""
    opening = opening_message(task) if mutation.identified else _anonymous_opening(principal)
    replay = TaskReplay.start(principal, opening, shared.ownership, shared.catalog, engine)
    try:
        for action in gold_actions(task)[: mutation.at]:
            if not mutation.identified and action["name"] in LOOKUPS:
                continue
            replay.follow_gold(action)
        call = replay.next_call(mutation.tool, mutation.arguments)
        proposal = replay.propose(call, confirm=mutation.confirm)
    finally:
        replay.close()
    report.policy_ms.append(proposal.policy_ms)
    tally = report.by_rule.setdefault(mutation.rule, RuleTally())
    tally.injected += 1
    if proposal.blocked and mutation.rule in proposal.rules:
        tally.caught += 1
        return
    report.misses.append(
        {
            "task": task["id"],
            "mutation": mutation.kind,
            "rule": mutation.rule,
            "tool": mutation.tool,
            "arguments": dict(mutation.arguments),
            "blocked": proposal.blocked,
            "decided_by": proposal.chain.final.check,
            "rules": proposal.rules,
        }
    )


def evaluate_policies(
    tasks: Sequence[Task] | None = None,
    engine: PolicyEngine | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> PolicyEvalReport:
    """Run both parts of the harness over `tasks` (default: all 114) with `engine` (default:
    the store's written rules alone)."""
    chosen = list(tasks) if tasks is not None else load_tasks()
    engine = engine or retail_engine(STORE_RULES)
    shared = _Shared.build()
    report = PolicyEvalReport()
    try:
        for done, task in enumerate(chosen, start=1):
            report.tasks += 1
            principal = task_principal(task, shared.pristine)
            if principal is None:
                # no action and no identifiable customer: nothing to judge
                report.gold_actions += len(gold_actions(task))
            else:
                for mutation in _replay_gold(task, principal, shared, engine, report):
                    _inject(task, principal, mutation, shared, engine, report)
            if progress is not None:
                progress(done, len(chosen))
    finally:
        shared.pristine.engine.dispose()
    return report
