"""`tether demo`: a domain pack's scenarios, shown as a table or as JSON."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from rich.progress import Progress
from rich.table import Table

from tether.cli.common import out
from tether.core.types import DecisionKind, RunStatus
from tether.sdk.domain import Domain
from tether.sdk.scenarios import (
    ScenarioResult,
    load_scenarios,
    play,
    run_scenario,
    scenario_desk,
)
from tether.store.runs import RunStore


def run_demo(domain: Domain, store: RunStore, directory: Path | None, as_json: bool) -> bool:
    """Run every scenario; print the results; True when every scenario ended as expected."""
    scenarios = load_scenarios(directory, domain)
    results: list[ScenarioResult] = []
    if as_json:
        results = [run_scenario(domain, store, s) for s in scenarios]
    else:
        with Progress(console=out, transient=True) as progress:
            task = progress.add_task("running scenarios", total=len(scenarios))
            for s in scenarios:
                results.append(run_scenario(domain, store, s))
                progress.advance(task)
    outcomes = Counter(turn_decisions(results))
    summary = {k.value: outcomes.get(k.value, 0) for k in DecisionKind}
    if as_json:
        print(json.dumps({"scenarios": [r.to_dict() for r in results], "outcomes": summary}))
    else:
        table = Table("ok", "scenario", "expected", "actual", "reason code")
        table.columns[1].no_wrap = True
        for r in results:
            mark = "[green]yes[/]" if r.ok else "[red]NO[/]"
            code = r.actual_code.value if r.actual_code else ""
            table.add_row(mark, r.name, r.expected.value, r.actual.value, code)
        out.print(table)
        out.print("outcomes: " + ", ".join(f"{k} {v}" for k, v in summary.items()))
    return all(r.ok for r in results)


def turn_decisions(results: list[ScenarioResult]) -> list[str]:
    """Every turn's Decision kind: a conversation's questions and confirmations count too, and
    a turn that waited for a person counts as what its run came to once decided."""
    kinds = []
    for result in results:
        for turn in result.turns:
            if turn.outcome is None:
                continue
            run = result.run if turn.outcome.run.id == result.run.id else turn.outcome.run
            if run.decision is not None:
                kinds.append(run.decision.kind.value)
    return kinds


def leave_approval_waiting(domain: Domain, store: RunStore) -> str | None:
    """Start the domain's first scenario that a person approves once more and leave it
    waiting, so the dashboard's approvals inbox has a request to act on. Returns its id."""
    if domain.scenarios is None:
        return None
    scenario = next(
        (
            s
            for s in load_scenarios(None, domain)
            if s.approval is not None and s.approval.decision == "approve"
        ),
        None,
    )
    if scenario is None:
        return None
    desk = scenario_desk(domain, store, scenario, approvals=True)
    waiting = scenario.model_copy(update={"name": f"{scenario.name}-waiting", "approval": None})
    _, turns = play(desk, waiting)
    ran = [t.outcome for t in turns if t.outcome is not None]
    if not ran or ran[-1].run.status is not RunStatus.SUSPENDED or desk.approvals is None:
        return None
    pending = desk.approvals.list(run_id=ran[-1].run.id)
    return pending[0].id if pending else None
