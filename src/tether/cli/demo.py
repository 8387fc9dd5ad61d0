"""`tether demo`: the retail support desk scenarios, shown as a table or as JSON."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from rich.progress import Progress
from rich.table import Table

from tether.cli.common import out
from tether.core.types import DecisionKind
from tether.retail.scenarios import ScenarioResult, load_scenarios, run_scenario
from tether.store.runs import RunStore


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
