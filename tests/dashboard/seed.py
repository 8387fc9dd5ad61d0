"""A synthetic day of history written straight into the store: runs with a few steps each, the
KPI rollups those runs add (computed with `run_kpis`, as the KPI observer would), and feedback.

The history has shape, so the overview's charts have something to show: an upstream outage
(tool timeouts, slower runs) and a stretch where more answers fail their grounding checks.
"""

from __future__ import annotations

import json
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert

from tether.core.errors import ErrorCode
from tether.core.types import Decision, DecisionKind, Reason, Run, RunStatus, Step, StepKind
from tether.observe.kpi import minute_of, run_kpis
from tether.store.kpi_schema import (
    KPI_COUNTERS,
    KPI_SUMS,
    NO_RELEASE,
    kpi_counts,
    kpi_latency,
    kpi_minutes,
    run_feedback,
)
from tether.store.runs import RunStore
from tether.store.schema import runs, steps

AGENTS = ("retail-desk", "returns-desk")
PRINCIPALS = tuple(f"customer_{n:03d}" for n in range(60))
QUESTIONS = (
    "Where is my order?",
    "Can I return the lamp I bought last week?",
    "Please cancel my pending order.",
    "How long does a refund to my card take?",
    "Change the address on my order, please.",
    "Do you price-match other stores?",
)
KINDS = (
    (DecisionKind.ANSWER, 0.55, (None,)),
    (DecisionKind.ACTION, 0.13, (None,)),
    (DecisionKind.ESCALATION, 0.12, ("HANDOFF_REQUESTED", "POLICY_ESCALATED", "STEP_LIMIT")),
    (
        DecisionKind.REFUSAL,
        0.20,
        ("MODEL_REFUSED",) * 3
        + ("PERMISSION_DENIED",) * 2
        + ("POLICY_DENIED", "ANSWER_UNGROUNDED"),
    ),
)
GROUNDING = ("ANSWER_UNGROUNDED", "CLAIM_CONTRADICTED")


@dataclass
class _Rollup:
    values: Counter[str] = field(default_factory=Counter)
    latency: Counter[int] = field(default_factory=Counter)
    counts: Counter[tuple[str, str, str]] = field(default_factory=Counter)


def _decision(rng: random.Random, ungrounded: bool) -> Decision:
    if ungrounded and rng.random() < 0.35:
        return Decision(
            DecisionKind.REFUSAL,
            "I can't answer that reliably.",
            reason=Reason(ErrorCode(rng.choice(GROUNDING)), "unsupported answer"),
        )
    pick, acc = rng.random(), 0.0
    for kind, weight, codes in KINDS:
        acc += weight
        if pick <= acc:
            code = rng.choice(codes)
            reason = Reason(ErrorCode(code), f"synthetic {code.lower()}") if code else None
            return Decision(kind, f"a synthetic {kind.value}", reason=reason)
    return Decision(DecisionKind.ANSWER, "a synthetic answer")


# the policy verdict a proposed call gets, by the decision the run ends in
POLICY_OUTCOME = {
    "POLICY_ESCALATED": ("escalate", "supervisor-approval-large-return"),
    "POLICY_DENIED": ("deny", "confirm-before-write"),
}


def _verdict(check: str, effect: str, code: str = "", **facts: Any) -> dict[str, Any]:
    reasons = [{"code": code, "message": f"synthetic {code.lower()}"}] if code else []
    return {"check": check, "effect": effect, "reasons": reasons, "facts": facts}


def _steps(
    run_id: str, start: float, end: float, decision: Decision, outage: bool, rng: random.Random
) -> list[Step]:
    """scope → (a checked tool call) → (an answer check) → decision, spread over [start, end]."""
    out: list[Step] = []
    times = sorted(start + (end - start) * rng.random() for _ in range(6))
    code = decision.reason.code.value if decision.reason else ""

    def add(kind: StepKind, name: str, data: dict[str, Any]) -> None:
        seq = len(out) + 1
        out.append(Step(run_id, seq, kind, name, times[seq - 1], times[seq], data))

    add(StepKind.SCOPE, "scope", {"agent": "synthetic", "model": "scripted"})
    if code in POLICY_OUTCOME or rng.random() < 0.6:
        effect, rule = POLICY_OUTCOME.get(code, ("allow", "desk-tools"))
        call = {"id": "call_0_0", "name": "get_order_details", "arguments": {"order_id": "#W1"}}
        verdict = _verdict("policy", effect, code if effect != "allow" else "", rules=[rule])
        guard = {"call": call, "effect": effect, "verdicts": [_verdict("schema", "allow"), verdict]}
        add(StepKind.GUARD, "get_order_details", guard)
        if effect == "allow":
            failed = (outage and rng.random() < 0.5) or rng.random() < 0.03
            error = "TOOL_TIMEOUT" if outage else rng.choice(("NOT_FOUND", "TOOL_UNAVAILABLE"))
            attempt = {"attempt": 1, "tool": "get_order_details", "breaker": "closed"}
            add(
                StepKind.TOOL,
                "get_order_details",
                {
                    "tool": "get_order_details",
                    "call_id": "call_0_0",
                    "ok": not failed,
                    "output": {"status": "pending"},
                    "error": {"code": error, "message": "synthetic failure"} if failed else None,
                    "attempts": [{**attempt, "code": error if failed else None}],
                },
            )
    if decision.kind in (DecisionKind.ANSWER, DecisionKind.REFUSAL) and code not in (
        "MODEL_REFUSED",
        "PERMISSION_DENIED",
        "POLICY_DENIED",
    ):
        grounded = code not in GROUNDING
        statuses = ["supported"] * rng.randint(1, 3)
        if not grounded:
            statuses.append("contradicted" if code == "CLAIM_CONTRADICTED" else "unsupported")
        elif rng.random() < 0.04:
            statuses.append("unsupported")  # checked, and let through (not decisive)
        # a contradicted claim is the claims check's to stop; an uncited answer the citations'
        stopper = "" if grounded else "claims" if code == "CLAIM_CONTRADICTED" else "citations"
        judged: dict[str, Any] = {"claims": [{"status": st} for st in statuses]}
        verdicts = [
            _verdict(check, "deny", code, **facts)
            if check == stopper
            else _verdict(check, "allow", **facts)
            for check, facts in (("citations", {}), ("claims", judged))
        ]
        effect = "deny" if stopper else "allow"
        add(StepKind.GUARD, "answer", {"effect": effect, "verdicts": verdicts})
    add(StepKind.DECISION, decision.kind.value, {"decision": decision.to_dict()})
    return out


def seed_history(
    store: RunStore, count: int, now: float, span_s: float = 23 * 3600, seed: int = 7
) -> list[str]:
    """Write `count` ended runs created over the `span_s` seconds before `now`; their ids."""
    rng = random.Random(seed)
    outage = (now - 14 * 3600, now - 13 * 3600)
    ungrounded = (now - 7 * 3600, now - 5 * 3600)
    run_rows: list[dict[str, Any]] = []
    step_rows: list[dict[str, Any]] = []
    feedback_rows: list[dict[str, Any]] = []
    rollups: dict[tuple[int, str], _Rollup] = defaultdict(_Rollup)
    for _ in range(count):
        run_id = f"run_{rng.getrandbits(128):032x}"
        created = now - span_s * rng.random()
        in_outage = outage[0] <= created < outage[1]
        decision = _decision(rng, ungrounded[0] <= created < ungrounded[1])
        latency_s = rng.lognormvariate(-0.3, 0.6) * (4 if in_outage else 1)
        ended = min(created + latency_s, now)
        run_steps = _steps(run_id, created, ended, decision, in_outage, rng)
        agent = AGENTS[0] if rng.random() < 0.8 else AGENTS[1]
        run = Run(
            run_id,
            agent,
            rng.choice(PRINCIPALS),
            RunStatus.COMPLETED,
            created,
            ended,
            {"messages": [{"role": "user", "content": rng.choice(QUESTIONS)}]},
            decision,
            f"{rng.getrandbits(128):032x}",
            len(run_steps),
            tuple(run_steps),
        )
        run_rows.append(
            {
                "id": run.id,
                "agent": run.agent,
                "principal_id": run.principal_id,
                "tenant": "retail",
                "status": run.status.value,
                "decision_kind": decision.kind.value,
                "decision_code": decision.reason.code.value if decision.reason else None,
                "created_at": created,
                "updated_at": ended,
                "trace_id": run.trace_id,
                "step_count": len(run_steps),
                "input": json.dumps(dict(run.input)),
                "decision": json.dumps(decision.to_dict()),
                "checkpoint": "{}",
            }
        )
        step_rows.extend(
            {
                "run_id": s.run_id,
                "seq": s.seq,
                "kind": s.kind.value,
                "name": s.name,
                "started_at": s.started_at,
                "ended_at": s.ended_at,
                "data": json.dumps(s.data),
            }
            for s in run_steps
        )
        kpis = run_kpis(run)
        rollup = rollups[kpis.minute, kpis.agent]
        rollup.values.update(kpis.values)
        if kpis.latency_bucket is not None:
            rollup.latency[kpis.latency_bucket] += 1
        rollup.counts.update(kpis.counts)
        if rng.random() < 0.25 and ended + 120 < now:
            _feedback(run, decision, ended + 120, rng, feedback_rows, rollups)
    _write(store, run_rows, step_rows, feedback_rows, rollups, now)
    return [r["id"] for r in run_rows]


def _feedback(
    run: Run,
    decision: Decision,
    at: float,
    rng: random.Random,
    rows: list[dict[str, Any]],
    rollups: dict[tuple[int, str], _Rollup],
) -> None:
    good = decision.kind in (DecisionKind.ANSWER, DecisionKind.ACTION)
    resolved = rng.random() < (0.85 if good else 0.3)
    csat = max(1, min(5, round(rng.gauss(4.3 if resolved else 2.2, 0.8))))
    rows.append(
        {
            "run_id": run.id,
            "resolved": resolved,
            "csat": csat,
            "note": None,
            "given_by": "survey",
            "created_at": at,
        }
    )
    values = rollups[minute_of(at), run.agent].values
    values.update({"feedback": 1, "resolved": int(resolved), "csat_count": 1, "csat_sum": csat})


def _write(
    store: RunStore,
    run_rows: list[dict[str, Any]],
    step_rows: list[dict[str, Any]],
    feedback_rows: list[dict[str, Any]],
    rollups: dict[tuple[int, str], _Rollup],
    now: float,
) -> None:
    minute_rows, latency_rows, count_rows = [], [], []
    for (minute, agent), r in rollups.items():
        key = {"minute": minute, "agent": agent, "release": NO_RELEASE, "shard": 0}
        row: dict[str, Any] = {**key, "updated_at": now}
        row.update({c: int(r.values.get(c, 0)) for c in KPI_COUNTERS})
        row.update({c: float(r.values.get(c, 0.0)) for c in KPI_SUMS})
        minute_rows.append(row)
        latency_rows += [{**key, "bucket": b, "count": n} for b, n in r.latency.items()]
        count_rows += [
            {**key, "metric": m, "subject": s, "key": k, "count": n}
            for (m, s, k), n in r.counts.items()
        ]
    with store.engine.begin() as conn:
        conn.execute(insert(runs), run_rows)
        conn.execute(insert(steps), step_rows)
        for table, rows in (
            (kpi_minutes, minute_rows),
            (kpi_latency, latency_rows),
            (kpi_counts, count_rows),
            (run_feedback, feedback_rows),
        ):
            if rows:
                conn.execute(insert(table), rows)
