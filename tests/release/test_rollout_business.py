"""A rollout's arms read the business KPIs from recorded runs (SQLite and PostgreSQL): cost at
the price table, handle time, conversations with a compliance incident and conversations
audited completely, each as the business report defines it; a conversation on a model without
a price leaves its arm without a cost, and the cost guard without a verdict."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import insert

from tether.access.audit import AuditEvent
from tether.access.control import AccessControl
from tether.core.types import RiskClass, ToolSpec
from tether.observe.business_source import business_kpis
from tether.observe.prices import PriceTable
from tether.observe.run_facts import expected_event
from tether.release.rollout_feed import arm_conversations
from tether.release.rollout_guards import ArmSample, Guard
from tether.release.store import ReleaseStore
from tether.store.conversations_schema import conversation_turns, conversations
from tether.store.runs import RunStore
from tether.store.schema import runs, steps

from .helpers import TOOL, bundle

PRICES = PriceTable.parse({"model-x": {"input_per_1k": 1.0, "output_per_1k": 2.0}})
RENEW = ToolSpec(
    name="renew_loan",
    description="Renew a loan.",
    input_schema={"type": "object", "properties": {"loan": {"type": "string"}}},
    output_schema={"type": "object"},
    risk=RiskClass.WRITE,
)


@dataclass(frozen=True)
class Said:
    """One turn: when it ran, how it ended, what it spent, and what befell it."""

    start: float
    end: float
    decision: str | None
    tokens: tuple[int, int] = (0, 0)
    model: str = "model-x"
    denied_write: bool = False  # a rule denied a renewal
    lost_event: bool = False  # its run.decided event is missing from the chain


def record(store: RunStore, access: AccessControl, cid: str, release: str, at: float,
           turns: list[Said]) -> None:  # fmt: skip
    """A conversation pinned to `release`, its runs' steps, and their audit events chained."""
    run_rows, step_rows, turn_rows, events = [], [], [], []
    for number, said in enumerate(turns, 1):
        run_id = f"run_{cid}_{number}"
        usage = {"prompt_tokens": said.tokens[0], "completion_tokens": said.tokens[1]}
        made = [("scope", "scope", {}),
                ("model_turn", "m", {"output": {"model": said.model, "usage": usage}})]  # fmt: skip
        if said.denied_write:
            verdict = {"check": "policy", "effect": "deny",
                       "facts": {"determining": [{"id": "no-renewal"}]}}  # fmt: skip
            call = {"id": "c1", "name": "renew_loan", "arguments": {"loan": "L1"}}
            made.append(("guard", "renew_loan", {"call": call, "effect": "deny",
                                                 "decided_by": "policy", "verdicts": [verdict]}))  # fmt: skip
        if said.decision is not None:
            made.append(("decision", said.decision, {"decision": {"kind": said.decision}}))
        run_rows.append(
            {"id": run_id, "agent": "desk", "principal_id": f"p_{cid}", "tenant": "t",
             "status": "completed" if said.decision else "running",
             "decision_kind": said.decision, "decision_code": None, "created_at": said.start,
             "updated_at": said.end, "trace_id": "", "step_count": len(made), "input": "{}",
             "decision": None, "checkpoint": "{}", "release_id": release}
        )  # fmt: skip
        for seq, (kind, name, data) in enumerate(made, 1):
            step_rows.append(
                {"run_id": run_id, "seq": seq, "kind": kind, "name": name,
                 "started_at": said.start, "ended_at": said.end, "data": json.dumps(data)}
            )  # fmt: skip
            event = expected_event(kind, name, data)
            if event is not None and not (said.lost_event and event == "run.decided"):
                events.append(AuditEvent(event, f"principal:p_{cid}", {}, run_id))
        turn_rows.append(
            {"conversation_id": cid, "turn": number, "run_id": run_id, "kind": "text",
             "created_at": said.start}
        )  # fmt: skip
    talk = {
        "id": cid, "principal_id": f"p_{cid}", "agent": "desk", "domain": "d",
        "principal_source": "token", "asserted_by": "x", "status": "open", "created_at": at,
        "updated_at": at, "expires_at": at + 86_400, "turns": len(turns), "state": "{}",
        "size": 0, "release_id": release,
    }  # fmt: skip
    with store.engine.begin() as conn:
        conn.execute(insert(runs), run_rows)
        conn.execute(insert(steps), step_rows)
        conn.execute(insert(conversations), [talk])
        conn.execute(insert(conversation_turns), turn_rows)
        access.audit.append_in(conn, events)


def test_arms_read_the_business_kpis_as_the_business_report_does(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TETHER_HOME", str(tmp_path))
    store = RunStore.open(store_url)
    access = AccessControl.open(store.engine)
    releases = ReleaseStore(store.engine, access.audit)
    base, _ = releases.create(bundle(tools=[TOOL, RENEW]), "cli:ops")
    cand, _ = releases.create(bundle(instructions="Be brief.", tools=[TOOL, RENEW]), "cli:ops")
    t = 1_800_000_000.0
    # c1: two turns, 1.4 + 0.7 spent, from t + 1 to t + 41
    record(store, access, "c1", cand.id, t, [Said(t + 1, t + 5, "clarification", (1000, 200)),
                                             Said(t + 30, t + 41, "answer", (500, 100))])  # fmt: skip
    # c2: a rule denied a renewal (a compliance incident), 2.0 spent in 5 s
    record(store, access, "c2", cand.id, t, [Said(t + 2, t + 7, "refusal", (2000, 0),
                                                  denied_write=True)])  # fmt: skip
    # c3: its run.decided event is missing from the chain; nothing spent, 3 s
    record(store, access, "c3", cand.id, t, [Said(t + 3, t + 6, "answer", lost_event=True)])
    # c4: a turn still going: not counted yet
    record(store, access, "c4", cand.id, t, [Said(t + 4, t + 9, "answer", (9000, 0)),
                                             Said(t + 20, t + 21, None)])  # fmt: skip
    # the baseline: one conversation on a model without a price
    record(store, access, "b1", base.id, t, [Said(t + 1, t + 2, "answer", (10, 10), "mystery")])
    record(store, access, "b2", base.id, t, [Said(t + 1, t + 3, "answer", (100, 0))])

    candidate = ArmSample.of(arm_conversations(store.engine, cand.id, t, PRICES))
    baseline = ArmSample.of(arm_conversations(store.engine, base.id, t, PRICES))
    figures = candidate.kpis()
    assert figures["n"] == 3
    assert figures["cost_per_conversation"] == pytest.approx((2.1 + 2.0 + 0.0) / 3, abs=1e-6)
    assert figures["handle_time_s"] == pytest.approx((40 + 5 + 3) / 3, abs=1e-6)
    assert figures["compliance_incident_rate"] == pytest.approx(1 / 3, abs=1e-6)
    assert figures["audit_completeness"] == pytest.approx(2 / 3, abs=1e-6)
    # an unknown price is no cost at all, never zero: the guard cannot pass on it
    assert baseline.kpis()["cost_per_conversation"] is None
    assert baseline.kpis()["cost_per_conversation_missing"] == 1
    assert Guard.parse("cost_per_conversation <= baseline * 1.2").test(baseline, candidate) is None
    assert Guard.parse("handle_time_s <= baseline * 2").test(baseline, candidate) is not None

    # one definition: the business report of the same release agrees
    report = business_kpis(store.engine, t, t + 100, PRICES, cand.id, now=t + 100)
    found = report["releases"][0]
    assert found["conversations"]["handle_time_s"] == pytest.approx(figures["handle_time_s"], 1e-3)
    priced = found["cost"]["total"] - 9.0  # c4's finished turn is a run the report counts
    assert priced == pytest.approx(figures["cost_per_conversation"] * 3, abs=1e-5)
    assert found["audit"]["audit_completeness"] == pytest.approx(4 / 5)  # by run: c3 of five
    assert found["compliance"]["by_rule"] == {"no-renewal": {"deny": 1}}
    store.close()
