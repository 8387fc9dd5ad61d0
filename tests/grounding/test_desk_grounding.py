"""Grounding wired into the retail desk: tool results as checkable evidence, claim handling
(revise, refuse, escalate), premise checks on writes, graph evidence with lineage, and the
`tether ingest` command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tether.core.types import DecisionKind, Message, Principal, Run, Step, StepKind
from tether.domains.retail.db import RetailDB
from tether.domains.retail.desk import RETAIL_AGENT, open_retail_desk
from tether.domains.retail.pack import RETAIL
from tether.grounding.corpus import jobs, lineage
from tether.models.scripted import ScriptedModel, parse_script
from tether.runtime import RunRequest
from tether.runtime.state import MAX_TOOL_EVIDENCE_CHARS, RunState
from tether.sdk.scenarios import load_scenarios, run_scenario
from tether.store.runs import RunStore

RAJ = "raj_sanchez_2970"
TETHER = str(Path(sys.executable).parent / "tether")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RunStore]:
    opened = RunStore.open(f"sqlite:///{tmp_path / 'tether.db'}")
    yield opened
    opened.close()


def scenario_run(store: RunStore, name: str) -> Run:
    scenario = next(s for s in load_scenarios(None, RETAIL) if s.name == name)
    result = run_scenario(RETAIL, store, scenario)
    assert result.ok, (result.actual, result.actual_code)
    return store.get_run(result.run.id)


def guards(run: Run, name: str) -> list[Step]:
    return [s for s in run.steps if s.kind is StepKind.GUARD and s.name == name]


def test_tool_results_become_evidence_text_claims_can_be_checked_against() -> None:
    state = RunState("r", "t", Principal(RAJ), RETAIL_AGENT, "m", 0.0)
    output = {"order_id": "#W1", "status": "pending", "items": [{"price": 10.5}]}
    data = {"evidence_id": "tool:1", "ok": True, "tool": "get_order_details", "risk": "read"}
    state.apply(Step("r", 1, StepKind.TOOL, "get_order_details", 0, 0, {**data, "output": output}))
    assert json.loads(state.evidence["tool:1"].text) == output
    huge = {"text": "x" * (MAX_TOOL_EVIDENCE_CHARS * 2)}
    state.apply(
        Step("r", 2, StepKind.TOOL, "t", 0, 0, {**data, "evidence_id": "tool:2", "output": huge})
    )
    assert len(state.evidence["tool:2"].text) <= MAX_TOOL_EVIDENCE_CHARS + 2


def test_a_hallucinated_refund_timeline_is_sent_back_once_then_refused(store: RunStore) -> None:
    run = scenario_run(store, "hallucinated-refund-timeline")
    first, second = guards(run, "answer")
    assert first.data["revised"] is True and first.data["decided_by"] == "claims"
    verdict = first.data["verdicts"][-1]
    [failing] = verdict["facts"]["failing"]
    assert failing["status"] == "contradicted" and "24 hours" in failing["claim"]
    span = next(e for e in failing["evidence"] if "text" in e)
    assert span["source"] == "kb:refunds#1" and "5 to 7 business days" in span["text"]
    assert failing["field"] == "kb:refunds#1" and failing["decided_by"] == "rules"
    note = first.data["messages"][1]
    assert note["role"] == "system" and "24 hours" in note["content"]
    assert "revised" not in second.data
    assert run.decision is not None and run.decision.kind is DecisionKind.REFUSAL
    assert (
        run.decision.reason is not None and run.decision.reason.code.value == "CLAIM_CONTRADICTED"
    )
    model_turns = [s for s in run.steps if s.kind is StepKind.MODEL_TURN]
    assert len(model_turns) == 2  # revised once, never twice


def test_a_revised_answer_that_holds_goes_out(store: RunStore) -> None:
    run = scenario_run(store, "refund-timeline-revised")
    first, second = guards(run, "answer")
    assert first.data["revised"] and second.data["effect"] == "allow"
    claims = next(v for v in second.data["verdicts"] if v["check"] == "claims")
    assert claims["facts"]["groundedness"] == 1.0
    assert run.decision is not None and "5 to 7 business days" in run.decision.text


def test_a_write_whose_premise_fails_never_runs(store: RunStore) -> None:
    run = scenario_run(store, "return-item-not-in-order")
    [blocked] = guards(run, "return_delivered_order_items")
    assert blocked.data["effect"] == "deny" and blocked.data["decided_by"] == "premises"
    verdict = blocked.data["verdicts"][-1]
    assert verdict["reasons"][0]["code"] == "PREMISE_FAILED"
    assert verdict["facts"]["failed"] == ["each item is in the order (duplicates counted)"]
    failed = next(p for p in verdict["facts"]["premises"] if not p["holds"])
    assert "6452271382" not in failed["facts"]["order_items"]
    assert "6574183535" in failed["facts"]["order_items"]
    policy = next(v for v in blocked.data["verdicts"] if v["check"] == "policy")
    assert policy["effect"] == "allow"  # the store's rules alone would have let it run
    tools = [s.name for s in run.steps if s.kind is StepKind.TOOL]
    assert "return_delivered_order_items" not in tools


def _hallucinating_run(store: RunStore, on_fail: str) -> Run:
    desk = open_retail_desk(store, db=RetailDB.fresh_copy(), claims_on_fail=on_fail)
    script = parse_script(
        [
            {"answer": "A credit card refund takes 2 business days [kb:refunds#1]."},
            {"answer": "A credit card refund takes 5 to 7 business days [kb:refunds#1]."},
        ]
    )
    question = [Message("user", "How long does a refund to a credit card take?")]
    return desk.runtime.run(RunRequest(RAJ, question), ScriptedModel(script))


@pytest.mark.parametrize(
    ("on_fail", "kind"), [("refuse", DecisionKind.REFUSAL), ("escalate", DecisionKind.ESCALATION)]
)
def test_failing_claims_can_be_refused_or_escalated_instead(
    store: RunStore, on_fail: str, kind: DecisionKind
) -> None:
    run = _hallucinating_run(store, on_fail)
    assert run.decision is not None and run.decision.kind is kind
    assert run.decision.reason is not None and run.decision.reason.code.value.startswith("CLAIM_")
    assert len([s for s in run.steps if s.kind is StepKind.MODEL_TURN]) == 1


def test_revise_is_the_default(store: RunStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TETHER_CLAIMS_ON_FAIL", raising=False)
    desk = open_retail_desk(store, db=RetailDB.fresh_copy())
    run = desk.runtime.run(
        RunRequest(RAJ, [Message("user", "How long does a credit card refund take?")]),
        ScriptedModel(
            parse_script(
                [
                    {"answer": "It takes 2 business days [kb:refunds#1]."},
                    {"answer": "It takes 5 to 7 business days [kb:refunds#1]."},
                ]
            )
        ),
    )
    assert run.decision is not None and run.decision.kind is DecisionKind.ANSWER


def test_retrieval_carries_lineage_and_graph_evidence_for_the_customers_own_order(
    store: RunStore,
) -> None:
    desk = open_retail_desk(store, db=RetailDB.fresh_copy())
    script = parse_script([{"answer": "Order #W4566809 is pending [graph:order:#W4566809]."}])
    ask = [Message("user", "Is order #W4566809 still pending, and can I get a refund?")]
    run = desk.runtime.run(RunRequest(RAJ, ask), ScriptedModel(script))
    assert run.decision is not None and run.decision.kind is DecisionKind.ANSWER
    retrieval = next(s for s in run.steps if s.kind is StepKind.RETRIEVAL)
    assert f"principal:{RAJ}" in retrieval.data["labels"]
    evidence: list[dict[str, Any]] = retrieval.data["evidence"]
    ids = [e["id"] for e in evidence]
    assert "graph:order:#W4566809" in ids and "graph:item:1569829406" in ids
    passage = next(e for e in evidence if e["id"].startswith("kb:"))
    assert passage["source"].startswith("kb://retail/") and len(passage["version"]) == 64
    assert desk.retriever is not None
    found = desk.retriever.search("refund", 1, {"public"})[0]
    trace = lineage(store.engine, found)
    assert trace is not None and trace["source"] == "kb://retail/" and trace["current"]
    # another customer naming the same order gets no graph evidence about it
    other = desk.runtime.run(
        RunRequest("james_li_5688", [Message("user", "What about order #W4566809?")]),
        ScriptedModel(parse_script([{"refuse": "no"}])),
    )
    seen = next(s for s in other.steps if s.kind is StepKind.RETRIEVAL).data["evidence"]
    assert not any(e["id"].startswith("graph:order") for e in seen)


def test_the_knowledge_base_is_ingested_once_and_only_when_first_needed(store: RunStore) -> None:
    first = open_retail_desk(store, db=RetailDB.fresh_copy())
    assert jobs(store.engine) == []  # opening a desk reads nothing from the store
    assert first.retriever is not None and first.retriever.search("refund", 1, {"public"})
    second = open_retail_desk(store, db=RetailDB.fresh_copy())
    assert second.retriever is not None and second.retriever.search("refund", 1, {"public"})
    assert [j["source"] for j in jobs(store.engine)] == ["kb://retail/"]


def _tether(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TETHER_")}
    env["TETHER_HOME"] = str(home)
    return subprocess.run(
        [TETHER, *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


def test_the_ingest_command(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "hours.md").write_text("# Opening hours\n\nThe desk is open 9 to 5.")
    (docs / "prices.csv").write_text("sku,name,price\nA1,Lamp,20\n")
    home = tmp_path / "home"
    proc = _tether(home, "ingest", str(docs), "--acl", "public", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["status"] == "succeeded" and report["stats"]["added"] == 2
    again = json.loads(_tether(home, "ingest", str(docs), "--acl", "public", "--json").stdout)
    assert again["stats"]["unchanged"] == 2 and again["stats"]["chunks_written"] == 0
    (docs / "broken.json").write_text("{")
    bad = _tether(home, "ingest", str(docs), "--acl", "public", "--json")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    error = json.loads(bad.stdout)["error"]
    assert error["code"] == "DOCUMENT_MALFORMED"
    assert error["details"]["problems"][0]["file"] == "broken.json"
    shown = _tether(home, "ingest", str(docs), "--acl", "public", "--skip-invalid")
    assert shown.returncode == 0 and "DOCUMENT_MALFORMED" in shown.stdout
