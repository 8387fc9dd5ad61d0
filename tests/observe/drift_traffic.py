"""Synthetic traffic written into a store as the runtime leaves it: runs with their Decision, a
retrieval step, tool steps, a model turn's tokens, now and then a write a rule denied, the KPI
rollups and the audit events committed with them."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Mapping

from sqlalchemy import insert

from tether.access.audit import AuditEvent, AuditLog
from tether.core.errors import ErrorCode
from tether.core.types import Decision, DecisionKind, Reason, Run, RunStatus, Step, StepKind
from tether.observe.drift_calibration import Profile
from tether.observe.kpi import run_kpis
from tether.observe.kpi_store import KpiStore
from tether.observe.prices import PriceTable
from tether.observe.run_facts import ToolFacts, expected_event
from tether.store.runs import RunStore
from tether.store.schema import runs, steps

MODEL = "sim-model"
PRICES = PriceTable.parse({MODEL: {"input_per_1k": 0.001, "output_per_1k": 0.0}})  # 1e-6 a token
WRITES = {"cancel_order": ToolFacts("write")}  # the registry the denied writes are judged by
GAP = "audit_gap"  # a run whose audit events are not written


def _business_steps(run_id: str, at: float, seq: int, profile: Profile) -> list[Step]:
    """A model turn costing about the profile's cost, and now and then a write a rule denied;
    drawn from a stream of the run's own, so that the other draws stay as they were."""
    rng = random.Random(f"business:{run_id}")
    cost = rng.lognormvariate(math.log(profile.cost_median), profile.cost_sigma)
    usage = {"prompt_tokens": round(cost * 1e6), "completion_tokens": 0}
    made = [Step(run_id, seq, StepKind.MODEL_TURN, "sim", at, at,
                 {"output": {"model": MODEL, "usage": usage}})]  # fmt: skip
    if rng.random() < profile.incident:
        verdict = {"check": "policy", "effect": "deny", "facts": {"determining": [{"id": "r1"}]}}
        call = {"id": "c1", "name": "cancel_order", "arguments": {}}
        data = {"call": call, "effect": "deny", "decided_by": "policy", "verdicts": [verdict]}
        made.append(Step(run_id, seq + 1, StepKind.GUARD, "cancel_order", at, at, data))
    if rng.random() < profile.audit_gap:
        made.append(Step(run_id, seq + len(made), StepKind.SCOPE, GAP, at, at, {}))
    return made


def _pick(rng: random.Random, shares: Mapping[str, float]) -> str:
    return rng.choices(list(shares), weights=list(shares.values()))[0]


def synthetic_run(
    rng: random.Random, run_id: str, created: float, profile: Profile, version: str = ""
) -> Run:
    """One ended run drawn from `profile`; its evidence cites document `version`."""
    kind = DecisionKind(_pick(rng, profile.decisions))
    code = {
        DecisionKind.REFUSAL: ErrorCode(_pick(rng, profile.refusal_codes)),
        DecisionKind.ESCALATION: ErrorCode.HANDOFF_REQUESTED,
    }.get(kind)
    decision = Decision(kind, "", reason=Reason(code, "") if code else None)
    t = created
    sources = rng.sample(list(profile.sources), k=profile.sources_per_run)
    evidence = [{"id": f"{s}#1", "source": s, "version": version, "text": ""} for s in sources]
    made = [Step(run_id, 1, StepKind.RETRIEVAL, "retrieve", t, t, {"evidence": evidence})]
    for seq in range(2, 2 + profile.tool_calls_per_run):
        tool = _pick(rng, profile.tools)
        ok = rng.random() >= profile.tool_error
        data = {"tool": tool, "ok": ok, "attempts": []}
        if not ok:
            data["error"] = {"code": "TOOL_TIMEOUT"}
        made.append(Step(run_id, seq, StepKind.TOOL, tool, t, t + 0.01, data))
    made += _business_steps(run_id, t, len(made) + 1, profile)
    ended = created + 0.1
    return Run(
        run_id, "desk", "p", RunStatus.COMPLETED, created, ended, {}, decision,
        step_count=len(made), steps=tuple(made),
    )  # fmt: skip


def write_runs(store: RunStore, made: list[Run]) -> None:
    """Insert ended runs, their steps and their KPI rollups in one transaction."""
    run_rows = [
        {
            "id": r.id,
            "agent": r.agent,
            "principal_id": r.principal_id,
            "tenant": "default",
            "status": r.status.value,
            "decision_kind": r.decision.kind.value if r.decision else None,
            "decision_code": r.decision.reason.code.value
            if r.decision and r.decision.reason
            else None,
            "created_at": r.created_at,
            "updated_at": r.updated_at,
            "trace_id": "",
            "step_count": r.step_count,
            "input": "{}",
            "decision": json.dumps(r.decision.to_dict()) if r.decision else None,
            "checkpoint": "{}",
        }
        for r in made
    ]
    step_rows = [
        {
            "run_id": s.run_id,
            "seq": s.seq,
            "kind": s.kind.value,
            "name": s.name,
            "started_at": s.started_at,
            "ended_at": s.ended_at,
            "data": json.dumps(dict(s.data)),
        }
        for r in made
        for s in r.steps
    ]
    events = [
        AuditEvent(kind, "x", {}, r.id)
        for r in made
        for s in r.steps
        if s.name != GAP and (kind := expected_event(s.kind.value, s.name, s.data)) is not None
    ]
    with store.engine.begin() as conn:
        conn.execute(insert(runs), run_rows)
        conn.execute(insert(steps), step_rows)
        AuditLog(store.engine).append_in(conn, events)  # chained, as the runtime commits them
        for r in made:
            KpiStore.add_run(conn, run_kpis(r))


def write_traffic(
    store: RunStore,
    seed: int,
    start: float,
    end: float,
    count: int,
    profile: Profile,
    prefix: str,
    version: str = "",
) -> None:
    """`count` runs drawn from `profile`, created evenly over [start, end), citing `version`."""
    rng = random.Random(seed)
    step = (end - start) / count
    made = [
        synthetic_run(rng, f"{prefix}{i}", start + i * step, profile, version) for i in range(count)
    ]
    write_runs(store, made)
