"""`tether replay RUN_ID | --all [--since T] | --release R`: recorded runs re-decided from their
records, under their own configuration or a candidate release's."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer

from tether.cli.common import (
    EXIT_FAILED,
    DomainOption,
    open_desk,
    open_domain,
    out,
    print_json,
    since_epoch,
    user_errors,
)
from tether.cli.release import open_releases
from tether.core.errors import ErrorCode, TetherError
from tether.release.store import Release, ReleaseStore
from tether.runtime.replay import Replayer, ReplayReport, counterfactual, replay_runs
from tether.sdk.candidate import candidate_desk
from tether.sdk.gate import recorded_runs
from tether.sdk.releases import ReleaseDesks
from tether.store.runs import RunStore


def replay(
    run_id: Annotated[str | None, typer.Argument(help="The run to replay (run_...).")] = None,
    every: Annotated[
        bool, typer.Option("--all", help="Replay every ended run (see --since).")
    ] = False,
    since: Annotated[
        str | None,
        typer.Option(help="With --all: runs created since an ISO 8601 time or a duration (24h)."),
    ] = None,
    release: Annotated[
        str | None,
        typer.Option(
            help="Counterfactual: re-check the recorded proposals under this release (an id or "
            "a label) and report the runs that would have ended differently."
        ),
    ] = None,
    agent: Annotated[str | None, typer.Option(help="Only the runs of this agent.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    domain: DomainOption = None,
) -> None:
    """Re-make a recorded run's decisions from what it recorded, without calling the model or
    any tool and without reading live state, and say whether they come out identical (exit 1
    when a run diverges). With --release, re-check them under a candidate release instead."""
    with user_errors(as_json):
        if run_id is not None and every:
            raise TetherError(ErrorCode.BAD_REQUEST, "give a run id or --all, not both")
        if run_id is None and not every and release is None:
            raise TetherError(ErrorCode.BAD_REQUEST, "give a run id, --all or --release")
        if run_id is not None and (since is not None or agent is not None):
            raise TetherError(
                ErrorCode.BAD_REQUEST, "--since and --agent select runs: not with a run id"
            )
        cutoff = since_epoch(since, time.time()) if since is not None else None
        if release is not None:
            result = _counterfactual(release, run_id, cutoff, agent, domain)
        else:
            desk = open_desk(domain, approvals=True)
            # each run under its own release: the desk in force, or one built from the release
            replayer = Replayer(desk.runtime, ReleaseDesks(desk).runtime)
            if run_id is not None:
                report = replayer.replay(desk.store.get_run(run_id))
            else:
                started = time.perf_counter()
                summary = replay_runs(replayer, list(recorded_runs(desk.store, cutoff, agent)))
                summary["seconds"] = round(time.perf_counter() - started, 3)
    if release is not None:
        _show_counterfactual(result, as_json)
        return
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


def _counterfactual(
    ref: str, run_id: str | None, since: float | None, agent: str | None, domain: str | None
) -> dict[str, Any]:
    pack = open_domain(domain)
    store = RunStore.open()
    releases = open_releases()
    candidate = releases.get(ref)
    runs = (
        [store.get_run(run_id)] if run_id is not None else list(recorded_runs(store, since, agent))
    )
    with tempfile.TemporaryDirectory(prefix="tether-candidate-") as workdir:
        # a replay calls no model: the release's need not be buildable here
        desk = candidate_desk(pack, store, candidate.bundle, Path(workdir) / "release", model=None)
        started = time.perf_counter()
        result = counterfactual(Replayer(desk.runtime), runs)
    result["seconds"] = round(time.perf_counter() - started, 3)
    recorded = {r.release for r in runs if r.release}
    result = {
        "release": candidate.id,
        **result,
        "model_side": _model_side(releases, recorded, candidate),
    }
    return result


def _model_side(releases: ReleaseStore, recorded: set[str], candidate: Release) -> str | None:
    """What the counterfactual cannot say: a candidate that changes the prompt or the model
    would have had the model propose other things, which no record holds."""
    changed: set[str] = set()
    content = candidate.bundle.content
    prompts = {a["name"]: a.get("instructions") for a in content.get("agents", ())}
    for rid in sorted(recorded):
        try:
            before = releases.get(rid).bundle.content
        except TetherError:
            continue  # a release the store no longer holds: nothing to compare with
        if before.get("model") != content.get("model"):
            changed.add("the model")
        if {a["name"]: a.get("instructions") for a in before.get("agents", ())} != prompts:
            changed.add("the agents' instructions")
    if not changed:
        return None
    return (
        f"the candidate changes {' and '.join(sorted(changed))}: the recorded model outputs are "
        "held fixed, so what the model would have proposed under it cannot be replayed; "
        "evaluate it on the domain's scenarios instead (tether demo --scenarios, tether eval)"
    )


def _show_counterfactual(result: Mapping[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(result)
        return
    out.print(
        f"{result['runs']} runs re-checked under {result['release']}: {result['changed']} "
        f"would have ended differently ({result['seconds']} s)",
        markup=False,
    )
    for change, count in result["by_change"].items():
        out.print(f"  {change}: {count}", markup=False)
    for rule, count in result["by_rule"].items():
        out.print(f"  rule {rule}: {count}", markup=False)
    for example in result["examples"]:
        out.print(
            f"  {example['run']} step {example['step']} {example['proposal']}: "
            f"{example['change']} ({', '.join(example['rules'])})",
            markup=False,
        )
    if result.get("model_side"):
        out.print(f"  note: {result['model_side']}", markup=False)
