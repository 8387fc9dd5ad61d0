"""`tether runs list | show`: the recorded runs, read from the store alone."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.table import Table

from tether.cli.common import out, print_json, user_errors
from tether.core.errors import ErrorCode, TetherError
from tether.core.types import DecisionKind, Run, RunStatus
from tether.store.runs import RunFilter, RunStore

runs_app = typer.Typer(help="Inspect recorded runs.", no_args_is_help=True)


@runs_app.command("list")
def runs_list(
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 20,
    decision: Annotated[str | None, typer.Option(help="answer|action|escalation|refusal")] = None,
    principal: Annotated[str | None, typer.Option("--principal")] = None,
    release: Annotated[
        str | None,
        typer.Option("--release", help="Only runs under this release (an id or a label)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List recent runs, newest first."""
    with user_errors(as_json):
        kind = _decision_kind(decision)
        found = RunStore.open().list_runs(
            RunFilter(decision=kind, principal_id=principal, release=_release(release)),
            limit=limit,
        )
    if as_json:
        print_json({"runs": [r.to_dict() for r in found]})
        return
    table = Table("run", "created", "principal", "decision", "code", "steps")
    for r in found:
        d = r.decision
        table.add_row(
            r.id,
            time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r.created_at)),
            r.principal_id,
            d.kind.value if d else r.status.value,
            d.reason.code.value if d and d.reason else "",
            str(r.step_count),
        )
    out.print(table)


@runs_app.command("show")
def runs_show(
    run_id: Annotated[str, typer.Argument(help="The run id.")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show one run with every step."""
    with user_errors(as_json):
        found = RunStore.open().get_run(run_id)
    if as_json:
        print_json(found.to_dict(with_steps=True))
        return
    print_run(found, with_steps=True)


def _decision_kind(value: str | None) -> DecisionKind | None:
    if value is None:
        return None
    try:
        return DecisionKind(value)
    except ValueError:
        choices = ", ".join(k.value for k in DecisionKind)
        raise TetherError(
            ErrorCode.BAD_REQUEST, f"decision must be one of {choices}, not {value!r}"
        ) from None


def print_run(r: Run, with_steps: bool) -> None:
    d = r.decision
    out.print(f"[bold]{r.id}[/]  principal={r.principal_id}  agent={r.agent}  steps={r.step_count}")
    if r.status is RunStatus.SUSPENDED:
        out.print(f"waiting for approval: tether approvals list --run {r.id}", markup=False)
    if d is not None:
        code = f" ({d.reason.code.value}: {d.reason.message})" if d.reason else ""
        out.print(f"decision: [bold]{d.kind.value}[/]{code}")
        if d.text:
            out.print(d.text, markup=False)
        if d.citations:
            out.print("citations: " + ", ".join(d.citations), markup=False)
    if with_steps:
        table = Table("#", "kind", "name", "ms", "detail")
        for s in r.steps:
            detail = s.data.get("effect") or ("ok" if s.data.get("ok") else "")
            if "error" in s.data:
                detail = s.data["error"].get("code", "error")
            table.add_row(
                str(s.seq),
                s.kind.value,
                s.name,
                f"{(s.ended_at - s.started_at) * 1000:.1f}",
                str(detail),
            )
        out.print(table)


def _release(ref: str | None) -> str | None:
    """The release id `--release` means (see `runs_release`); the releases are opened only
    when a label has to be looked up."""
    if ref is None:
        return None
    from tether.cli.release import runs_release

    return runs_release(ref)
