"""`tether rollout start | status | promote | rollback | simulate`: staged rollouts of a candidate
release against production, promoted or rolled back by their guards."""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Mapping
from typing import Annotated, Any

import typer

from tether.approvals.webhooks import WebhookSender
from tether.cli.common import err, out, print_json, user_errors
from tether.cli.keys import cli_actor, open_access
from tether.core.errors import ErrorCode, TetherError
from tether.release.rollout import Rollouts
from tether.release.rollout_guards import KPIS
from tether.release.rollout_plan import DEFAULT_ALPHA, DEFAULT_LOOKS, RUNNING, Rollout
from tether.release.rollout_sim import Profile, simulate
from tether.release.store import ReleaseStore

rollout_app = typer.Typer(
    help="Staged rollouts: a candidate release takes a growing share of traffic from "
    "production and is promoted or rolled back by its guards.",
    no_args_is_help=True,
)

WEBHOOK_URL, WEBHOOK_SECRET = "TETHER_ROLLOUT_WEBHOOK_URL", "TETHER_ROLLOUT_WEBHOOK_SECRET"
SIMULATION_GUARDS = (
    "resolution_rate >= baseline - 0.05",
    "refused_by_verification <= baseline + 0.03",
    "p95_latency_s <= baseline * 1.25",
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print the rollout as JSON.")]
GuardOption = Annotated[
    list[str] | None,
    typer.Option(
        "--guard",
        help="METRIC OP baseline [+|-|*] NUMBER, e.g. 'resolution_rate >= baseline - 0.02'; "
        f"repeat for more. METRIC: {', '.join(KPIS)}.",
    ),
]
StepsOption = Annotated[
    str, typer.Option("--steps", help="The candidate's traffic shares in percent, ending at 100.")
]
MinRunsOption = Annotated[
    int,
    typer.Option("--min-runs", help="Concluded conversations each arm needs per look at a step."),
]
LooksOption = Annotated[
    int, typer.Option("--looks", help="Looks per step at most (each at alpha / looks).")
]
AlphaOption = Annotated[float, typer.Option("--alpha", help="Each step's error rate.")]


def _notify(kind: str, status: Mapping[str, Any]) -> None:
    """Post the transition to the configured webhook, if any; a failed delivery is a warning."""
    url = os.environ.get(WEBHOOK_URL, "").strip()
    if not url:
        return
    secret = os.environ.get(WEBHOOK_SECRET, "").encode()
    body = json.dumps({"event": kind, **status}, sort_keys=True).encode()
    notice = "ntf_" + secrets.token_hex(8)
    sent = WebhookSender().send(url, secret, notice, kind, body, time.time())
    if not sent.ok:
        err.print(f"warning: the rollout webhook was not delivered: {sent.error}", markup=False)


def open_rollouts() -> Rollouts:
    """Rollouts in the configured store, audited in its audit chain."""
    access = open_access()
    return Rollouts(ReleaseStore(access.engine, access.audit), access.audit, notify=_notify)


def parse_steps(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise TetherError(
            ErrorCode.ROLLOUT_INVALID,
            f"steps {text!r} must be whole percentages separated by commas, e.g. 5,25,50,100",
        ) from None


def _show(rollout: Rollout, as_json: bool) -> None:
    status = rollout.status()
    if as_json:
        print_json(status)
        return
    out.print(f"rollout {rollout.id}: {status['candidate']} against {status['baseline']}",
              markup=False)  # fmt: skip
    out.print(f"  state    {status['state']} at step {status['step']} of {len(rollout.steps)} "
              f"({status['traffic_pct']} % of traffic)", markup=False)  # fmt: skip
    for arm, kpis in status["arms"].items():
        shown = ", ".join(f"{k} {v}" for k, v in kpis.items() if v is not None)
        out.print(f"  {arm:9} {shown}", markup=False)
    for g in status["guards"]:
        mark = {True: "pass", False: "FAIL", None: "open"}[g["passed"]]
        out.print(f"  {mark:4} {g['expr']} (p={g['p_value']})", markup=False)
    out.print(f"  reason   {status['reason']}", markup=False)


@rollout_app.command("start")
def rollout_start(
    candidate: Annotated[str, typer.Argument(help="The candidate release (id or label).")],
    guard: GuardOption = None,
    steps: StepsOption = "5,25,50,100",
    min_runs: MinRunsOption = 200,
    looks: LooksOption = DEFAULT_LOOKS,
    alpha: AlphaOption = DEFAULT_ALPHA,
    as_json: JsonOption = False,
) -> None:
    """Start rolling CANDIDATE out against the release labelled production (audited)."""
    with user_errors(as_json):
        started = open_rollouts().start(
            candidate, guard or [], cli_actor(), parse_steps(steps), min_runs, looks, alpha
        )
    _show(started, as_json)


@rollout_app.command("status")
def rollout_status(as_json: JsonOption = False) -> None:
    """The running rollout (else the latest): both arms' KPIs, each guard's test, and why."""
    with user_errors(as_json):
        found = open_rollouts().current()
    _show(found, as_json)


@rollout_app.command("promote")
def rollout_promote(
    reason: Annotated[str, typer.Option(help="Why, for the audit trail.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Move the running rollout to its next step by hand; at the last, production moves."""
    with user_errors(as_json):
        moved = open_rollouts().promote(cli_actor(), reason)
    _show(moved, as_json)


@rollout_app.command("rollback")
def rollout_rollback(
    reason: Annotated[str, typer.Option(help="Why, for the audit trail.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Roll the running rollout back by hand: the candidate gets no more traffic."""
    with user_errors(as_json):
        back = open_rollouts().rollback(cli_actor(), reason)
    _show(back, as_json)


@rollout_app.command("simulate")
def rollout_simulate(
    candidate: Annotated[str, typer.Option("--candidate", help="The candidate release.")],
    runs: Annotated[
        int, typer.Option("--runs", min=1, max=10_000_000, help="Synthetic conversations at most.")
    ] = 200_000,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    unsupported_rate: Annotated[
        float | None,
        typer.Option(
            "--unsupported-rate",
            min=0.0,
            max=1.0,
            help="The candidate's share of answers given without evidence "
            "(default: the baseline's).",
        ),
    ] = None,
    baseline_unsupported_rate: Annotated[
        float, typer.Option("--baseline-unsupported-rate", min=0.0, max=1.0)
    ] = Profile.unsupported_rate,
    latency_factor: Annotated[
        float,
        typer.Option(
            "--latency-factor",
            min=0.01,
            max=100.0,
            help="The candidate's latency over the baseline's.",
        ),
    ] = 1.0,
    cost_factor: Annotated[
        float,
        typer.Option(
            "--cost-factor",
            min=0.01,
            max=100.0,
            help="The candidate's model tokens per turn over the baseline's (its cost).",
        ),
    ] = 1.0,
    guard: GuardOption = None,
    steps: StepsOption = "5,25,50,100",
    min_runs: MinRunsOption = 400,
    looks: LooksOption = DEFAULT_LOOKS,
    alpha: AlphaOption = DEFAULT_ALPHA,
    as_json: JsonOption = False,
) -> None:
    """Run a rollout of CANDIDATE on scripted traffic (seeded): a real, audited rollout whose
    conversations are drawn per arm (their tokens costed at a fixed price); without --guard it
    uses three guards on resolution, verification refusals and p95 latency."""
    with user_errors(as_json):
        base = Profile(unsupported_rate=baseline_unsupported_rate)
        cand = Profile(
            unsupported_rate=(
                baseline_unsupported_rate if unsupported_rate is None else unsupported_rate
            ),
            latency_median_s=base.latency_median_s * latency_factor,
            tokens_median=base.tokens_median * cost_factor,
        )
        rollouts = open_rollouts()
        started = rollouts.start(
            candidate,
            guard or list(SIMULATION_GUARDS),
            cli_actor(),
            parse_steps(steps),
            min_runs,
            looks,
            alpha,
            live=False,  # its looks are the simulation's, not the live feed's
        )
        try:
            ended = simulate(rollouts, started, base, cand, runs, seed)
        except BaseException:  # Ctrl-C or a failure: the live rollout must not outlive it
            _roll_back_simulation(rollouts, started, "the simulation was interrupted")
            raise
        if ended.state == RUNNING:  # never leave live traffic on a simulated candidate
            why = f"the simulation's {runs} conversations did not decide it"
            ended = rollouts.rollback(cli_actor(), why)
    _show(ended, as_json)


def _roll_back_simulation(rollouts: Rollouts, started: Rollout, why: str) -> None:
    """Roll back the simulation's own rollout if it still runs (never another one)."""
    try:
        if rollouts.running().id == started.id:
            rollouts.rollback(cli_actor(), why)
    except TetherError as exc:  # it ended meanwhile: nothing is left running
        if exc.code not in (ErrorCode.ROLLOUT_NOT_FOUND, ErrorCode.CONFLICT):
            raise
