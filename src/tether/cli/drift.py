"""`tether drift`: the drift monitors on the recent window against the baseline before it, and
(with `--reevaluate`) the release's evaluation run again when drift fires or new knowledge or
policies are seen, its result stored with the release."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from tether.cli.common import DomainOption, open_domain, out, print_json, user_errors
from tether.observe.drift import DriftReport, MonitorResult, parse_duration
from tether.observe.drift_source import DEFAULT_BASELINE, DEFAULT_WINDOW, detect_drift
from tether.observe.prices import PriceTable
from tether.release.evaluations import EvaluationStore
from tether.sdk.desk import build_desk
from tether.sdk.gate import GATE, reevaluate_in_force
from tether.store.runs import RunStore


def drift(
    window: Annotated[
        str, typer.Option(help="The recent window: 30m, 24h, 7d, PT24H, ... (ends now).")
    ] = DEFAULT_WINDOW,
    baseline: Annotated[
        str, typer.Option(help="The baseline window, just before the recent one.")
    ] = DEFAULT_BASELINE,
    agent: Annotated[str | None, typer.Option(help="Only this agent's runs.")] = None,
    reevaluate_: Annotated[
        bool,
        typer.Option(
            "--reevaluate",
            help="Run the release's evaluation suite (its scenarios on a scratch store and a "
            "replay of the window's runs) when a monitor fires or new knowledge or policies are "
            "seen; store the result with the release.",
        ),
    ] = False,
    scenarios: Annotated[
        Path | None,
        typer.Option(
            help="A folder of scenario YAML files to evaluate with (default: the pack's)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    domain: DomainOption = None,
) -> None:
    """Compare the recent window's traffic with the baseline's: rates (Fisher's exact test,
    Cohen's h), distributions (chi-square, PSI), business KPIs (cost per run at
    TETHER_MODEL_PRICES, compliance incidents, audit completeness) and knowledge freshness
    (evidence age, sources that stopped updating). Exit 0 whether or not a monitor fired."""
    with user_errors(as_json):
        window_s = parse_duration(window, "window")
        baseline_s = parse_duration(baseline, "baseline")
        pack = open_domain(domain) if reevaluate_ else None
        store = RunStore.open()
        prices = PriceTable.from_env()
        report = detect_drift(store.engine, window_s, baseline_s, agent=agent, prices=prices)
        ran = False
        if pack is not None:
            desk = build_desk(pack, store)
            since = time.time() - window_s
            evaluation, ran = reevaluate_in_force(desk, report.fired, since, scenarios, agent)
        else:
            evaluation = EvaluationStore(store.engine).latest(suite=GATE)
    shown = None if evaluation is None else {**evaluation.to_dict(), "ran_now": ran}
    if as_json:
        print_json({**report.to_dict(), "reevaluation": shown})
        return
    _print(report, shown)


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


def _row(m: MonitorResult) -> list[Any]:
    effect = "-" if m.value is None else f"{m.statistic} {m.value:.3g}"
    return [
        m.name,
        effect,
        f"{m.threshold:g}",
        _number(m.p_value),
        "[bold red]FIRED[/]" if m.fired else "no",
        f"{m.samples[0]}/{m.samples[1]}",
        Text(m.note),
    ]


def _print(report: DriftReport, evaluation: dict[str, Any] | None) -> None:
    b, w = report.baseline.to_dict(), report.window.to_dict()
    out.print(f"window   {w['start']} .. {w['end']}", markup=False)
    out.print(f"baseline {b['start']} .. {b['end']}", markup=False)
    table = Table("effect", "min", "p", "fired", "n", "note")
    table.add_column("monitor", no_wrap=True)
    table.columns.insert(0, table.columns.pop())
    for m in report.monitors:
        table.add_row(*_row(m))
    out.print(table)
    out.print(f"fired: {', '.join(report.fired) or 'none'}", markup=False)
    if evaluation is None:
        out.print("re-evaluation: none stored (tether drift --reevaluate)", markup=False)
        return
    verdict = "passed" if evaluation["passed"] else "FAILED"
    results = evaluation["results"]
    counts = f"{results.get('passed', 0)}/{results.get('scenarios', 0)} scenarios"
    when = "now" if evaluation["ran_now"] else evaluation["at"]
    why = "; ".join(evaluation["triggers"])
    out.print(
        f"re-evaluation of {evaluation['release']} ({when}): {verdict}, {counts} ({why})",
        markup=False,
    )
