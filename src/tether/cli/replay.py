"""`tether replay RUN_ID | --all [--since T]`: recorded runs re-decided from their records."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated

import typer

from tether.cli.common import EXIT_FAILED, DomainOption, open_desk, out, print_json, user_errors
from tether.core.durations import duration_seconds
from tether.core.errors import ErrorCode, TetherError
from tether.core.types import Run, RunStatus
from tether.runtime.replay import Replayer, ReplayReport, replay_runs
from tether.store.runs import RunFilter, RunStore

_PAGE = 500


def since_epoch(value: str, now: float) -> float:
    """`--since`: an ISO 8601 time (UTC unless it says otherwise) or a duration back from now
    (`90s`, `30m`, `24h`, `7d`, `2w`, `PT24H`); BAD_REQUEST otherwise."""
    back = duration_seconds(value)
    if back is not None:
        return now - back
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise TetherError(
            ErrorCode.BAD_REQUEST,
            f"--since {value!r} is neither an ISO 8601 time nor a duration such as 24h or 7d",
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def ended_runs(store: RunStore, since: float | None) -> Iterator[Run]:
    """The runs created since `since` that are not still going, oldest first, with steps."""
    filt = RunFilter(since=since)
    headers: list[Run] = []
    while page := store.list_runs(filt, limit=_PAGE, offset=len(headers)):
        headers.extend(page)
    for header in reversed(headers):  # pages come newest first
        if header.status in (RunStatus.COMPLETED, RunStatus.SUSPENDED):
            yield store.get_run(header.id)


def replay(
    run_id: Annotated[str | None, typer.Argument(help="The run to replay (run_...).")] = None,
    every: Annotated[
        bool, typer.Option("--all", help="Replay every ended run (see --since).")
    ] = False,
    since: Annotated[
        str | None,
        typer.Option(help="With --all: runs created since an ISO 8601 time or a duration (24h)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    domain: DomainOption = None,
) -> None:
    """Re-make a recorded run's decisions from what it recorded, without calling the model or
    any tool and without reading live state, and say whether they come out identical (exit 1
    when a run diverges)."""
    with user_errors(as_json):
        if (run_id is None) == (not every):
            raise TetherError(ErrorCode.BAD_REQUEST, "give a run id or --all (one of them)")
        if since is not None and not every:
            raise TetherError(ErrorCode.BAD_REQUEST, "--since goes with --all")
        cutoff = since_epoch(since, time.time()) if since is not None else None
        desk = open_desk(domain, approvals=True)
        replayer = Replayer(desk.runtime)
        if run_id is not None:
            report = replayer.replay(desk.store.get_run(run_id))
        else:
            started = time.perf_counter()
            summary = replay_runs(replayer, list(ended_runs(desk.store, cutoff)))
            summary["seconds"] = round(time.perf_counter() - started, 3)
    if run_id is not None:
        _show(report, as_json)
        if not report.identical:
            raise typer.Exit(EXIT_FAILED)
        return
    if as_json:
        print_json(summary)
    else:
        out.print(
            f"{summary['runs']} runs replayed: {summary['identical']} identical, "
            f"{summary['diverged']} diverged ({summary['seconds']} s)",
            markup=False,
        )
        for example in summary["examples"]:
            first = (example.get("diffs") or [example.get("error")])[0]
            out.print(f"  {example['run']}: {first}", markup=False)
    if summary["diverged"]:
        raise typer.Exit(EXIT_FAILED)


def _show(report: ReplayReport, as_json: bool) -> None:
    if as_json:
        print_json(report.to_dict())
        return
    verdict = "identical" if report.identical else "DIVERGED"
    out.print(
        f"run {report.run}: {verdict} ({report.checked} guard steps re-checked of "
        f"{report.steps} steps; decision {report.decision})",
        markup=False,
    )
    for diff in report.diffs:
        out.print(
            f"  step {diff.step} {diff.kind} {diff.name}: {diff.path} recorded "
            f"{diff.recorded!r}, replayed {diff.replayed!r}",
            markup=False,
        )
    if report.not_replayed:
        out.print(f"  not re-made: {', '.join(sorted(set(report.not_replayed)))}", markup=False)
