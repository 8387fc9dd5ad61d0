"""`tether kpi`: the business KPIs of recorded traffic, per release, over a window."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer
from rich.table import Table

from tether.cli.common import out, print_json, since_epoch, user_errors
from tether.cli.release import runs_release
from tether.core.durations import duration_seconds
from tether.core.errors import ErrorCode, TetherError
from tether.observe.business import headline
from tether.observe.business_source import MAX_FOLLOW_UP_S, BusinessSettings, business_kpis
from tether.store.runs import RunStore


def kpi(
    since: Annotated[
        str, typer.Option(help="Runs created since an ISO 8601 time or a duration (24h, 7d).")
    ] = "7d",
    release: Annotated[
        str | None,
        typer.Option(
            help="Only this release (an id or a label; an empty string: runs without a release)."
        ),
    ] = None,
    follow_up: Annotated[
        str | None,
        typer.Option(
            help="How long after a conversation a repeat contact about the same entity undoes "
            "its first-contact resolution (default: TETHER_KPI_FOLLOW_UP, then 72h)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Business KPIs per release: cost per run and per resolved conversation (prices from
    TETHER_MODEL_PRICES), handle time, first-contact resolution, compliance incidents, audit
    completeness and the age of the evidence cited."""
    with user_errors(as_json):
        now = time.time()
        settings = BusinessSettings.from_env()
        window = settings.follow_up_s
        if follow_up is not None:
            given = duration_seconds(follow_up)
            if given is None or not 0 < given <= MAX_FOLLOW_UP_S:
                raise TetherError(
                    ErrorCode.BAD_REQUEST,
                    f"--follow-up {follow_up!r} must be a duration from a second to a year "
                    "such as 72h or 3d",
                )
            window = given
        store = RunStore.open()
        try:
            report = business_kpis(
                store.engine,
                since_epoch(since, now),
                now,
                settings.prices,
                runs_release(release),
                now=now,
                follow_up_s=window,
            )
        finally:
            store.close()
    if as_json:
        print_json(report)
        return
    _print(report)


def _shown(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _print(report: dict[str, Any]) -> None:
    found = report["releases"]
    if not found:
        out.print("no runs in the window", markup=False)
        return
    table = Table("kpi", *(r["release"] or "(none)" for r in found))
    table.add_row("runs", *(str(r["runs"]) for r in found))
    figures = [headline(r) for r in found]
    for name in figures[0]:
        table.add_row(name, *(_shown(f[name]) for f in figures))
    out.print(table)
    for r in found:
        rules = r["compliance"]["by_rule"]
        unpriced = r["cost"]["unpriced_models"]
        name = r["release"] or "(none)"
        if rules:
            shown = ", ".join(f"{rule} {dict(e)}" for rule, e in rules.items())
            out.print(f"{name} incidents by rule: {shown}", markup=False)
        if unpriced:
            out.print(f"{name} models without a price: {', '.join(unpriced)}", markup=False)
        if r["compliance"].get("unknown"):
            out.print(f"{name} compliance unknown: {r['compliance']['unknown']}", markup=False)
