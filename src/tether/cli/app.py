"""`tether demo | run | chaos | serve | runs`."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from tether.cli.approvals import approvals_app
from tether.cli.audit import audit_app
from tether.cli.chaos import print_report, run_harness
from tether.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    DomainOption,
    err,
    open_desk,
    open_domain,
    out,
    print_json,
    user_errors,
)
from tether.cli.converse import chat, converse
from tether.cli.demo import leave_approval_waiting, run_demo
from tether.cli.domains import domains_app
from tether.cli.drift import drift
from tether.cli.eval import eval_app
from tether.cli.ingest import ingest
from tether.cli.keys import (
    announce_first_admin,
    cli_actor,
    keys_app,
    signing_app,
    tokens_app,
)
from tether.cli.kpi import kpi
from tether.cli.policy import policy_app
from tether.cli.release import release_app, runs_release
from tether.cli.replay import replay
from tether.cli.rollout import rollout_app
from tether.core.errors import ErrorCode, TetherError
from tether.core.types import DecisionKind, Message, Run, RunStatus
from tether.models.base import ModelAdapter
from tether.models.factory import model_from_env
from tether.models.scripted import ScriptedModel, load_script
from tether.observe.logs import configure_command_line
from tether.runtime import RunRequest
from tether.sdk.domain import Domain
from tether.store.runs import RunFilter, RunStore

app = typer.Typer(
    name="tether",
    help="tether: a governed runtime for production AI agents.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
runs_app = typer.Typer(help="Inspect recorded runs.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")
app.add_typer(audit_app, name="audit")
app.add_typer(approvals_app, name="approvals")
app.add_typer(keys_app, name="keys")
app.add_typer(signing_app, name="signing-keys")
app.add_typer(tokens_app, name="tokens")
app.add_typer(eval_app, name="eval")
app.add_typer(policy_app, name="policy")
app.add_typer(domains_app, name="domains")
app.add_typer(release_app, name="release")
app.add_typer(rollout_app, name="rollout")
app.command()(replay)
app.command("ingest")(ingest)
app.command("converse")(converse)
app.command("chat")(chat)
app.command("drift")(drift)
app.command("kpi")(kpi)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


@app.command()
def demo(
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="Run the scenarios, then exit.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
    scenarios: Annotated[
        Path | None, typer.Option(help="A folder of scenario YAML files (default: built in).")
    ] = None,
    host: Annotated[str, typer.Option(help="Address to serve on.")] = DEFAULT_HOST,
    port: Annotated[int, typer.Option(help="Port to serve on.", min=1, max=65535)] = DEFAULT_PORT,
    domain: DomainOption = None,
) -> None:
    """Run a domain pack's scenarios (the retail support desk by default), then serve the API
    and dashboard."""
    with user_errors(as_json):
        pack = open_domain(domain)
        desk = open_desk(pack)
        all_ok = run_demo(pack, desk.store, scenarios, as_json)
        if desk.access is not None:  # the first start makes (and prints once) an admin key
            desk.access.audit.checkpoint()  # sign the chain head the scenarios left
            announce_first_admin(desk.access, None if no_serve else f"http://{host}:{port}")
    if not all_ok:
        raise typer.Exit(EXIT_FAILED)
    if not no_serve:
        with user_errors():
            waiting = leave_approval_waiting(pack, desk.store)
        if waiting is not None:
            err.print(f"an approval is waiting for a supervisor: http://{host}:{port}/approvals")
        _serve(host, port, pack, announce=False)


@app.command()
def run(
    text: Annotated[str, typer.Argument(help="The user's message.")],
    principal: Annotated[str, typer.Option("--as", help="The principal id the run acts for.")],
    script: Annotated[
        Path | None, typer.Option(help="Scripted model turns (YAML/JSON) instead of TETHER_MODEL.")
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="Model spec, e.g. openai:gpt-4o-mini (default TETHER_MODEL).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run as JSON.")] = False,
    agent: Annotated[
        str | None, typer.Option(help="The agent (default: the domain's first).")
    ] = None,
    domain: DomainOption = None,
) -> None:
    """Run one request through the governed pipeline and print its Decision."""
    with user_errors(as_json):
        pack = open_domain(domain)  # a mistyped --domain is reported before anything else
        turns = load_script(script) if script is not None else None
        adapter: ModelAdapter = ScriptedModel(turns) if turns is not None else model_from_env(model)
        desk = open_desk(pack)
        desk.enable_approvals()  # an escalated call waits for `tether approvals approve ID`
        # the script is kept with the run, so an approval can continue it in any process
        # the person at the terminal asked for it, so may not approve what it escalates
        kept: dict[str, Any] = {"operator": cli_actor()}
        if script:
            kept["script"] = [t.model_dump(exclude_none=True) for t in turns or ()]
        request = RunRequest(principal, [Message("user", text)], agent=agent, metadata=kept)
        result = desk.runtime.run(request, adapter)
    if as_json:
        print_json(result.to_dict(with_steps=True))
        return
    _print_run(result, with_steps=False)


@app.command()
def chaos(
    runs: Annotated[int, typer.Option(help="How many runs.", min=1, max=100_000)] = 100,
    fault_rate: Annotated[
        float, typer.Option(help="Share of tool calls that misbehave.", min=0.0, max=1.0)
    ] = 0.3,
    seed: Annotated[int, typer.Option(help="Seed of the injected faults.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    domain: DomainOption = None,
) -> None:
    """Run the domain's scenarios with faults injected into the tools.

    Every run must end in a Decision, and no side effect may happen twice."""
    with user_errors(as_json):
        pack = open_domain(domain)
        report = run_harness(pack, open_desk(pack).store, runs, fault_rate, seed)
    print_report(report, as_json)
    if not report.healthy:
        raise typer.Exit(EXIT_FAILED)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to serve on.")] = DEFAULT_HOST,
    port: Annotated[int, typer.Option(help="Port to serve on.", min=1, max=65535)] = DEFAULT_PORT,
    domain: DomainOption = None,
) -> None:
    """Serve the HTTP API and the dashboard of a domain pack's desk."""
    with user_errors():
        _serve(host, port, open_domain(domain))


@app.command()
def worker(
    domain: DomainOption = None,
    metrics_port: Annotated[
        str | None,
        typer.Option(
            metavar="PORT",
            help="Serve Prometheus metrics on this port; 0: not served "
            "(default: TETHER_WORKER_METRICS_PORT, else 0).",
        ),
    ] = None,
    metrics_host: Annotated[
        str | None,
        typer.Option(
            metavar="HOST",
            help="Address to serve metrics on (default: TETHER_WORKER_METRICS_HOST, "
            "else 127.0.0.1).",
        ),
    ] = None,
) -> None:
    """Execute runs off the API's request path, and recover runs whose lease lapsed."""
    from tether.cli.worker import run_worker
    from tether.workers.metrics import metrics_endpoint

    with user_errors():
        endpoint = metrics_endpoint(metrics_port, metrics_host)
        run_worker(open_domain(domain), endpoint)


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
            RunFilter(decision=kind, principal_id=principal, release=runs_release(release)),
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
    _print_run(found, with_steps=True)


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


def _print_run(r: Run, with_steps: bool) -> None:
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


def _serve(host: str, port: int, domain: Domain, announce: bool = True) -> None:
    import uvicorn

    from tether.observe.redact import uvicorn_log_config
    from tether.server.app import create_app
    from tether.server.lingering import LingeringH11Protocol

    log_config = uvicorn_log_config()  # a bad TETHER_REDACT fails here, before anything starts
    desk = open_desk(domain)
    if announce and desk.access is not None:
        announce_first_admin(desk.access, f"http://{host}:{port}")
    err.print(f"serving the API and dashboard on http://{host}:{port}  (Ctrl-C to stop)")
    uvicorn.run(
        create_app(desk),
        host=host,
        port=port,
        log_level=os.environ.get("TETHER_LOG_LEVEL", "info"),
        log_config=log_config,  # secrets, tokens, e-mails and cards are masked
        http=LingeringH11Protocol,  # a refused request's answer is read, not reset
    )


def main() -> None:
    with user_errors():  # a bad TETHER_LOG_* or an argument in another encoding: no traceback
        configure_command_line()
        _refuse_undecodable(sys.argv[1:])
    if "--json" not in sys.argv[1:]:
        app()
        return
    # with --json, what the argument parser refuses (`--limit 0`) is a JSON error on stdout
    # too, not its usage box on stderr
    try:
        code = app(standalone_mode=False)
    except typer.TyperException as exc:  # the parser's refusals (click's, as typer has them)
        text = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        refused = TetherError(ErrorCode.BAD_REQUEST, text)
        print(json.dumps({"error": refused.to_dict()}))
        sys.exit(EXIT_BAD_INPUT)
    except typer.Abort:  # Ctrl-C, as the shell reports it
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


def _refuse_undecodable(args: list[str]) -> None:
    """An argument that is not UTF-8 (the shell passed bytes of another encoding, which Python
    holds as lone surrogates) names no id, file or value any command can use: BAD_REQUEST."""
    for n, arg in enumerate(args, 1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            raise TetherError(
                ErrorCode.BAD_REQUEST, f"argument {n} is not UTF-8 text: {ascii(arg)[:80]}"
            ) from None
