"""`tether approvals list | show | approve | reject | resume | notices`: escalated actions that
wait for a person.

The command line reaches the system of record directly, so it decides as an admin; the audit
trail names the person as `cli:<user>`, and whoever requested an action still may not approve
it. Deciding resumes the run here and now: its own script, else `--model` or `TETHER_MODEL`.
"""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from tether.approvals.notices import DELIVERED, FAILED, PENDING
from tether.approvals.requests import Approval, ApprovalStatus, Approver
from tether.approvals.service import ApprovalService
from tether.cli.common import open_desk, out, print_json, user_errors
from tether.cli.keys import cli_actor
from tether.core.errors import ErrorCode, TetherError
from tether.core.types import Run
from tether.models.base import ModelAdapter
from tether.models.factory import model_from_env
from tether.sdk.releases import ReleaseDesks

approvals_app = typer.Typer(
    help="Escalated actions waiting for a person: list, show, approve, reject.",
    no_args_is_help=True,
)
STATUSES = ("pending", "approved", "rejected", "expired", "all")
NOTICE_STATES = (PENDING, DELIVERED, FAILED)


def open_approvals(model: str | None = None) -> ApprovalService:
    """The approvals of the configured store and domain (`TETHER_DOMAIN`, `tether.toml`,
    retail); runs continue with `model` (default TETHER_MODEL) unless they carry their own
    script."""

    def configured() -> ModelAdapter:
        return model_from_env(model)

    desk = open_desk()
    service = desk.enable_approvals(models=configured)
    service.runtime_of = ReleaseDesks(desk).runtime  # a run continues under its own release
    return service


def cli_approver() -> Approver:
    return Approver(actor=cli_actor(), role="admin", name=cli_actor())


def _when(value: float | None) -> str:
    return "" if value is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(value))


def _status(value: str) -> ApprovalStatus | None:
    if value not in STATUSES:
        raise TetherError(
            ErrorCode.BAD_REQUEST, f"status must be one of {', '.join(STATUSES)}, not {value!r}"
        )
    return None if value == "all" else ApprovalStatus(value)


@approvals_app.command("list")
def approvals_list(
    status: Annotated[str, typer.Option(help="pending|approved|rejected|expired|all")] = "pending",
    queue: Annotated[str | None, typer.Option(help="Only this queue.")] = None,
    run: Annotated[str | None, typer.Option("--run", help="Only this run's requests.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List approval requests (pending ones oldest first)."""
    with user_errors(as_json):
        wanted = _status(status)
        service = open_approvals()
        found = service.list(wanted, queue, run, limit)
        now = service.clock.now()
    if as_json:
        print_json({"approvals": [a.to_dict(now) for a in found]})
        return
    table = Table("id", "status", "tool", "principal", "needs", "queue", "expires")
    table.columns[0].no_wrap = True  # ids are what the other commands take
    for a in found:
        table.add_row(
            a.id,
            a.state(now).value,
            a.tool,
            Text(a.principal_id),
            a.approver_role,
            a.queue,
            _when(a.expires_at),
        )
    out.print(table)


@approvals_app.command("show")
def approvals_show(
    approval_id: Annotated[str, typer.Argument(help="The request id (apr_...).")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show one request: the exact action, its argument hash, why, who may decide, until when."""
    with user_errors(as_json):
        service = open_approvals()
        approval = service.get(approval_id)
        now = service.clock.now()
    if as_json:
        print_json(approval.to_dict(now))
        return
    _print_approval(approval, now)


@approvals_app.command("approve")
def approvals_approve(
    approval_id: Annotated[str, typer.Argument(help="The request id (apr_...).")],
    note: Annotated[str, typer.Option(help="Why (kept in the audit trail).")] = "",
    argument_hash: Annotated[
        str | None, typer.Option("--hash", help="Refuse unless the arguments have this hash.")
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="Model that continues the run (default TETHER_MODEL).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Approve: the approved call runs now, then the model continues the run."""
    _decide(approval_id, True, note, argument_hash, model, as_json)


@approvals_app.command("reject")
def approvals_reject(
    approval_id: Annotated[str, typer.Argument(help="The request id (apr_...).")],
    note: Annotated[str, typer.Option(help="Why (kept in the audit trail).")] = "",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Reject: the run ends in a refusal and nothing is changed."""
    _decide(approval_id, False, note, None, None, as_json)


@approvals_app.command("resume")
def approvals_resume(
    approval_id: Annotated[str, typer.Argument(help="The request id (apr_...).")],
    model: Annotated[str | None, typer.Option(help="Model (default TETHER_MODEL).")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Finish the run of a decided request that a stopped process left unfinished."""
    with user_errors(as_json):
        service = open_approvals(model)
        run = service.resume(approval_id)
    if as_json:
        print_json(run.to_dict())
        return
    _print_outcome(run)


@approvals_app.command("notices")
def approvals_notices(
    state: Annotated[str | None, typer.Option(help="pending|delivered|failed")] = None,
    deliver: Annotated[bool, typer.Option(help="Attempt the due ones first.")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Webhook notices to escalation queues, and how their delivery went."""
    with user_errors(as_json):
        if state is not None and state not in NOTICE_STATES:
            shown = ", ".join(NOTICE_STATES)
            raise TetherError(ErrorCode.BAD_REQUEST, f"state must be one of {shown}, not {state!r}")
        service = open_approvals()
        if deliver:
            service.wait_for_notices()
        found = service.store.outbox.list(state)
    if as_json:
        print_json({"notices": [n.to_dict() for n in found]})
        return
    table = Table("id", "event", "queue", "state", "attempts", "last error")
    for n in found:
        table.add_row(n.id, n.event, n.queue, n.state, str(n.attempts), Text(n.last_error or ""))
    out.print(table)


def _decide(
    approval_id: str,
    approve: bool,
    note: str,
    argument_hash: str | None,
    model: str | None,
    as_json: bool,
) -> None:
    with user_errors(as_json):
        service = open_approvals(model)
        decided = service.decide(approval_id, approve, cli_approver(), note, argument_hash)
        service.wait_for_notices()  # a short-lived process: try the queue's webhook now
        now = service.clock.now()
    if as_json:
        print_json(decided.to_dict(now))
        return
    verb = "approved" if approve else "rejected"
    out.print(f"{verb} {decided.approval.id} ({decided.approval.tool})", markup=False)
    _print_outcome(decided.run)


def _print_outcome(run: Run) -> None:
    d = run.decision
    if d is None:
        out.print(f"run {run.id} is {run.status.value}", markup=False)
        return
    code = f" ({d.reason.code.value}: {d.reason.message})" if d.reason else ""
    out.print(f"run {run.id} ended: {d.kind.value}{code}", markup=False)
    if d.text:
        out.print(d.text, markup=False)


def _print_approval(a: Approval, now: float) -> None:
    rows = [
        ("request", a.id),
        ("status", a.state(now).value),
        ("run", f"{a.run_id} (step {a.step_seq})"),
        ("action", f"{a.tool} {a.arguments}"),
        ("argument hash", a.argument_hash),
        ("principal", a.principal_id),
        ("requested by", a.requested_by),
        ("why", "; ".join(a.reasons)),
        ("policies", ", ".join(a.policies)),
        ("needs", a.approver_role),
        ("queue", a.queue),
        ("requested", _when(a.created_at)),
        ("expires", _when(a.expires_at)),
    ]
    if a.decided_by:
        rows += [("decided by", a.decided_by), ("decided", _when(a.decided_at))]
        rows += [("note", a.note or "")]
    table = Table(show_header=False)
    for label, value in rows:
        table.add_row(label, Text(str(value)))
    out.print(table)
