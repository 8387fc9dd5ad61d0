"""`tether demo | run | chaos | serve | worker`: the commands that open a domain pack's desk."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from tether.cli.chaos import print_report, run_harness
from tether.cli.common import (
    EXIT_FAILED,
    DomainOption,
    err,
    open_desk,
    open_domain,
    print_json,
    user_errors,
)
from tether.cli.demo import leave_approval_waiting, run_demo
from tether.cli.keys import announce_first_admin, cli_actor
from tether.cli.runs import print_run
from tether.core.types import Message
from tether.models.base import ModelAdapter
from tether.models.factory import model_from_env
from tether.models.scripted import ScriptedModel, load_script
from tether.runtime import RunRequest
from tether.sdk.domain import Domain

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


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
    print_run(result, with_steps=False)


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


def serve(
    host: Annotated[str, typer.Option(help="Address to serve on.")] = DEFAULT_HOST,
    port: Annotated[int, typer.Option(help="Port to serve on.", min=1, max=65535)] = DEFAULT_PORT,
    domain: DomainOption = None,
) -> None:
    """Serve the HTTP API and the dashboard of a domain pack's desk."""
    with user_errors():
        _serve(host, port, open_domain(domain))


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


def _serve(host: str, port: int, domain: Domain, announce: bool = True) -> None:
    import uvicorn

    from tether.cli.heap import freeze_start_up
    from tether.observe.redact import uvicorn_log_config
    from tether.server.app import create_app
    from tether.server.lingering import LingeringH11Protocol

    log_config = uvicorn_log_config()  # a bad TETHER_REDACT fails here, before anything starts
    desk = open_desk(domain)
    if announce and desk.access is not None:
        announce_first_admin(desk.access, f"http://{host}:{port}")
    err.print(f"serving the API and dashboard on http://{host}:{port}  (Ctrl-C to stop)")
    app = create_app(desk)
    freeze_start_up()
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=os.environ.get("TETHER_LOG_LEVEL", "info"),
        log_config=log_config,  # secrets, tokens, e-mails and cards are masked
        http=LingeringH11Protocol,  # a refused request's answer is read, not reset
    )
