"""`tether audit verify | checkpoint | events`: the tamper-evident audit trail."""

from __future__ import annotations

import json
import time
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from tether.access.audit import StoredEvent
from tether.cli.common import EXIT_FAILED, out, print_json, user_errors
from tether.cli.keys import open_access

audit_app = typer.Typer(help="The tamper-evident audit trail.", no_args_is_help=True)


@audit_app.command("verify")
def audit_verify(
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Check every event's hash and link, the chain head and every signed checkpoint, with
    keys pinned in the trust file, against the checkpoints anchored in the sink.

    Exits 1 and names the first bad sequence number if any event was modified, deleted,
    inserted or reordered; also if a checkpoint is missing, out of order, not anchored or
    signed by a key that is not pinned."""
    with user_errors(as_json):
        report = open_access().verify_audit()
    if as_json:
        print(json.dumps(report.to_dict()))
    elif report.ok:
        out.print(
            f"audit chain ok: {report.events} events, {report.checkpoints} checkpoints verified, "
            f"{report.anchored} anchored in the sink"
        )
    else:
        where = "" if report.first_bad_seq is None else f" at event {report.first_bad_seq}"
        out.print(f"[bold red]audit chain broken[/]{where}: ", end="")
        out.print(report.reason, markup=False)
    if not report.ok:
        raise typer.Exit(EXIT_FAILED)


@audit_app.command("checkpoint")
def audit_checkpoint(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Sign the current chain head now."""
    with user_errors(as_json):
        point = open_access().audit.checkpoint()
    if as_json:
        print_json(point.to_dict())
        return
    out.print(f"signed the chain head at event {point.seq} with {point.kid}", markup=False)


@audit_app.command("events")
def audit_events(
    run: Annotated[str | None, typer.Option("--run", help="Only this run's events.")] = None,
    after: Annotated[int, typer.Option(help="Events after this sequence number.", min=0)] = 0,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List audit events in sequence order."""
    with user_errors(as_json):
        found = open_access().audit.events(run_id=run, after_seq=after, limit=limit)
    if as_json:
        print_json({"events": [e.to_dict() for e in found]})
        return
    table = Table("seq", "at", "kind", "actor", "run", "data")
    for e in map(StoredEvent.to_dict, found):  # a rewritten row shows as damaged
        at = "" if e["at"] is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(e["at"]))
        damaged = f"damaged: {e['damaged']}" if e["damaged"] else ""
        data = damaged or json.dumps(e["data"], ensure_ascii=False)
        data = data if len(data) <= 100 else data[:99] + "…"
        row = (e["kind"], e["actor"], e["run_id"], data)
        table.add_row(str(e["seq"]), at, *(Text(v) for v in row))
    out.print(table)
