"""`tether demo`: the retail support desk scenarios, shown as a table or as JSON."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from rich.progress import Progress
from rich.table import Table

from tether.cli.common import out
from tether.core.types import DecisionKind, RunStatus
from tether.models.scripted import ScriptedModel
from tether.retail.db import RetailDB
from tether.retail.desk import RetailDesk
from tether.retail.scenarios import (
    ScenarioResult,
    load_scenarios,
    run_scenario,
    script_data,
)
from tether.runtime import RunRequest
from tether.store.runs import RunStore

WAITING_SCENARIO = "large-return-approved"


def run_demo(store: RunStore, directory: Path | None, as_json: bool) -> bool:
    """Run every scenario; print the results; True when every scenario ended as expected."""
    scenarios = load_scenarios(directory)
    results: list[ScenarioResult] = []
    if as_json:
        results = [run_scenario(store, s) for s in scenarios]
    else:
        with Progress(console=out, transient=True) as progress:
            task = progress.add_task("running scenarios", total=len(scenarios))
            for s in scenarios:
                results.append(run_scenario(store, s))
                progress.advance(task)
    outcomes = Counter(r.actual.value for r in results)
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


def leave_approval_waiting(store: RunStore) -> str | None:
    """Start the large return of the demo once more and leave it waiting for a supervisor,
    so the dashboard's approvals inbox has a request to act on. Returns the approval id."""
    scenario = next((s for s in load_scenarios() if s.name == WAITING_SCENARIO), None)
    if scenario is None:
        return None
    desk = RetailDesk.open(store, db=RetailDB.fresh_copy(), approvals=True)
    request = RunRequest(
        principal_id=scenario.principal,
        messages=scenario.conversation(),
        metadata={"scenario": f"{scenario.name} (waiting)", "script": script_data(scenario)},
    )
    run = desk.runtime.run(request, ScriptedModel(scenario.script))
    if run.status is not RunStatus.SUSPENDED or desk.approvals is None:
        return None
    pending = desk.approvals.list(run_id=run.id)
    return pending[0].id if pending else None
