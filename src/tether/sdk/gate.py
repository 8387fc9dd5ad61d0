"""A release's evaluation suite, the gate a label move must pass.

The suite evaluates the release's own configuration (see `tether.sdk.candidate`), never the
pack's in force, on nothing live:

- `scenarios`: the domain's scenarios, on a scratch store with its own audit keys;
- `policy`: the domain's policy evaluation (its "eval policy" harness) under the release's policy
  files: no gold action falsely blocked and ≥ 99 % of injected violations caught;
- `grounding`: the run-path verifier on the domain's labelled probes (`Domain.grounding_probes`):
  precision, recall, F1 and false alarms, informative except as regressions against production;
- `replay`: a counterfactual replay of the recorded runs of a recent window under the release:
  how many would have ended differently, by change and by rule (informative: it never fails
  the gate; runs it cannot re-check, such as one that ended before its scope step, count as
  `errors`).

The result is stored with the release (suite `gate`, audited) and compared with the latest gate
result of the release labelled production: a check that passed there and fails here, fewer
scenarios passing, a lower catch ratio, more false blocks, a lower F1 or more false alarms are
regressions, and a release with a regression does not pass. A check that errors fails with
its reason, so a crash never leaves an older passing result standing.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tether.access.settings import AccessSettings
from tether.core.errors import ErrorCode, TetherError
from tether.core.types import Run, RunStatus
from tether.grounding.ragtruth import Example, evaluate, load_dataset
from tether.release.evaluations import EVALUATOR, Evaluation, EvaluationStore, triggers
from tether.release.store import GATE_SUITE, PRODUCTION, Release, ReleaseStore
from tether.runtime.replay import Replayer, counterfactual
from tether.sdk.candidate import candidate_domain
from tether.sdk.desk import Desk, build_desk
from tether.sdk.domain import Domain
from tether.sdk.scenarios import Scenario, load_scenarios, run_scenario, scenario_desk
from tether.store.runs import RunFilter, RunStore

GATE = GATE_SUITE
_PAGE = 500
CHECKS = ("scenarios", "policy", "grounding", "replay")
MIN_CAUGHT = 0.99


@dataclass
class GateResult:
    """`{"release", "passed", "compared_to", "checks", "regressions"}`."""

    release: str
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)
    compared_to: str | None = None
    regressions: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(c["passed"] for c in self.checks.values()) and not self.regressions

    def to_dict(self) -> dict[str, Any]:
        return {
            "release": self.release,
            "passed": self.passed,
            "compared_to": self.compared_to,
            "checks": self.checks,
            "regressions": list(self.regressions),
        }


def recorded_runs(store: RunStore, since: float | None, agent: str | None = None) -> Iterator[Run]:
    """The runs created since `since` (of `agent`) that are not still going, oldest first,
    with their steps (a run with a status this version does not know too: its replay says
    it cannot be replayed, rather than the run going unseen)."""
    filt = RunFilter(since=since, agent=agent)
    headers: list[Run] = []
    while page := store.list_runs(filt, limit=_PAGE, offset=len(headers)):
        headers.extend(page)
    for header in reversed(headers):  # pages come newest first
        if header.status not in (RunStatus.QUEUED, RunStatus.RUNNING):
            yield store.get_run(header.id)


def reevaluate_in_force(
    desk: Desk,
    fired: Sequence[str],
    since: float,
    scenarios: Path | None = None,
    agent: str | None = None,
) -> tuple[Evaluation | None, bool]:
    """Run the evaluation suite of `desk`'s configuration again (its scenarios, the grounding
    probes and a replay of the runs since `since`) when drift `fired` or its knowledge or
    policies are new; (the evaluation stored, whether it ran now)."""
    assert desk.release is not None and desk.access is not None  # every built desk has both
    release, bundle = desk.release.configuration, desk.release.bundle()
    evaluations = EvaluationStore(desk.store.engine, desk.access.audit)
    why = triggers(fired, bundle, evaluations.latest(suite=GATE))
    if not why:
        return evaluations.latest(release, suite=GATE), False
    releases = ReleaseStore(desk.store.engine, desk.access.audit)
    evaluate_release(
        desk.domain,
        desk.store,
        releases,
        releases.get(release),
        lambda: recorded_runs(desk.store, since, agent),
        ("scenarios", "grounding", "replay"),
        scenarios,
        actor=EVALUATOR,
        why=why,
    )
    return evaluations.latest(release, suite=GATE), True


def parse_checks(text: str) -> tuple[str, ...]:
    """`scenarios,policy,replay` (any of them, in any order); BAD_REQUEST naming an unknown one."""
    chosen = tuple(dict.fromkeys(p.strip() for p in text.split(",") if p.strip()))
    unknown = [c for c in chosen if c not in CHECKS]
    if unknown or not chosen:
        raise TetherError(
            ErrorCode.BAD_REQUEST,
            f"--checks takes a comma-separated list of {', '.join(CHECKS)}; got {text!r}",
        )
    return chosen


def evaluate_release(
    domain: Domain,
    store: RunStore,
    releases: ReleaseStore,
    release: Release,
    recent: Callable[[], Iterable[Run]],
    checks: Sequence[str] = CHECKS,
    scenarios: Path | None = None,
    actor: str = "system:gate",
    why: Sequence[str] = (GATE,),
) -> GateResult:
    """Run the suite on `release`, store the result with it (`why`: what called for it) and
    compare it with production's."""
    result = GateResult(release.id)
    with tempfile.TemporaryDirectory(prefix="tether-gate-") as folder:
        governed, on_fail = candidate_domain(domain, release.bundle, Path(folder) / "release")
        chosen = load_scenarios(scenarios, governed) if "scenarios" in checks else ()

        def replay() -> dict[str, Any]:
            desk = build_desk(governed, store, claims_on_fail=on_fail, approvals=True)
            found = counterfactual(Replayer(desk.runtime), list(recent()))
            return {"passed": True, **found}  # informative

        run: dict[str, Callable[[], dict[str, Any]]] = {
            "scenarios": lambda: scenario_check(governed, chosen, on_fail),
            "policy": lambda: _policy(governed),
            "grounding": lambda: _grounding(governed),
            "replay": replay,
        }
        for name in CHECKS:
            if name in checks:
                result.checks[name] = _fail_closed(run[name])
    audit = releases.audit
    evaluations = EvaluationStore(store.engine, audit)
    production = releases.target(PRODUCTION)
    if production is not None and production != release.id:
        before = evaluations.latest(production, suite=GATE)
        if before is not None:
            result.compared_to = production
            result.regressions = regressions(before.results.get("checks", {}), result.checks)
    evaluations.record(
        release.id,
        release.bundle,
        result.passed,
        {"checks": result.checks, "compared_to": result.compared_to,
         "regressions": result.regressions},
        list(why),
        suite=GATE,
        actor=actor,
    )  # fmt: skip
    return result


def _fail_closed(check: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """A check's figures; a check that errors fails, with its reason (never a pass)."""
    try:
        return check()
    except Exception as exc:
        code = exc.code if isinstance(exc, TetherError) else ErrorCode.CHECK_FAILED
        problem = exc.message if isinstance(exc, TetherError) else f"{type(exc).__name__}: {exc}"
        return {"passed": False, "error": f"{code.value}: {problem}"}


def regressions(
    before: Mapping[str, Mapping[str, Any]], after: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    """What got worse from `before` (production's gate) to `after`, in words."""
    found = []
    for name, now in after.items():
        was = before.get(name)
        if not isinstance(was, Mapping):
            continue
        if was.get("passed") and not now.get("passed"):
            found.append(f"{name}: passed for production, fails here")
        if name == "scenarios" and now.get("ok", 0) < was.get("ok", 0):
            found.append(f"scenarios: {now.get('ok')} pass, against {was.get('ok')}")
        if name == "grounding":
            f1_now, f1_was = now.get("f1"), was.get("f1")
            if f1_now is not None and f1_was is not None and f1_now < f1_was:
                found.append(f"grounding: F1 {f1_now}, against {f1_was}")
            if (now.get("false_alarm_rate") or 0.0) > (was.get("false_alarm_rate") or 0.0):
                found.append(
                    f"grounding: false alarms {now.get('false_alarm_rate')}, "
                    f"against {was.get('false_alarm_rate')}"
                )
        if name == "policy":
            if now.get("caught_ratio", 1.0) < was.get("caught_ratio", 0.0):
                found.append(
                    f"policy: catches {now.get('caught_ratio')} of violations, "
                    f"against {was.get('caught_ratio')}"
                )
            if now.get("false_blocks", 0) > was.get("false_blocks", 0):
                found.append(
                    f"policy: {now.get('false_blocks')} gold actions blocked, "
                    f"against {was.get('false_blocks')}"
                )
    return found


def scenario_check(
    domain: Domain, scenarios: Sequence[Scenario], on_fail: str | None = None
) -> dict[str, Any]:
    """`scenarios` on a scratch store (its own database and audit keys, removed afterwards),
    so an evaluation never touches live runs, data or trust files:
    `{"passed", "scenarios", "ok", "failed"}`."""
    with tempfile.TemporaryDirectory(prefix="tether-eval-") as folder:
        scratch = RunStore.open(f"sqlite:///{Path(folder) / 'evaluation.db'}")
        settings = AccessSettings(audit_dir=folder)
        try:
            results = [
                run_scenario(
                    domain,
                    scratch,
                    s,
                    scenario_desk(domain, scratch, s, settings=settings, claims_on_fail=on_fail),
                )
                for s in scenarios
            ]
        finally:
            scratch.close()
    failed = [r.name for r in results if not r.ok]
    return {
        "passed": bool(results) and not failed,
        "scenarios": len(results),
        "ok": len(results) - len(failed),
        "failed": failed,
    }


def _grounding(domain: Domain) -> dict[str, Any]:
    """The run-path verifier on the domain's labelled probes, at the operating point each of
    the release's agents runs it at (informative: it bites through the regressions against
    production). With agents at different points, the figures are those of the point that
    scores worst, and each point's are listed."""
    if domain.grounding_probes is None:
        return {"passed": True, "skipped": f"domain {domain.name} ships no grounding probes"}
    verifier = domain.grounding.verifier()
    probes = load_dataset(domain.grounding_probes)
    agents_at: dict[float | None, list[str]] = {}
    for agent in domain.agents:
        agents_at.setdefault(agent.verifier_operating_point, []).append(agent.name)
    scored: list[dict[str, Any]] = []
    for point, agents in agents_at.items():

        def flags(example: Example, at: float | None = point) -> bool:
            found = verifier.verify_source(
                example.task, example.source, example.response, example.tool, operating_point=at
            )
            return found.flagged

        overall = evaluate(probes, flags).overall.to_dict()
        figures = {k: overall[k] for k in ("f1", "precision", "recall", "false_alarm_rate", "n")}
        scored.append({"operating_point": point, "agents": agents, **figures})
    worst = min(scored, key=lambda f: (f["f1"] is not None, f["f1"] or 0.0))
    out: dict[str, Any] = {"passed": True, **{k: v for k, v in worst.items() if k != "agents"}}
    if len(scored) > 1:
        out["by_operating_point"] = scored
    return out


def _policy(domain: Domain) -> dict[str, Any]:
    harness = domain.harnesses.get("eval policy")
    if harness is None or domain.policies is None:
        return {"passed": True, "skipped": f"domain {domain.name} has no policy evaluation"}
    report = harness(engine=domain.policies.engine())
    figures = report.to_dict()
    caught = round(float(report.caught_ratio), 4)
    blocks = int(figures.get("false_blocks", 0))
    return {
        "passed": blocks == 0 and caught >= MIN_CAUGHT,
        "caught_ratio": caught,
        "false_blocks": blocks,
        "violations_injected": figures.get("violations_injected"),
    }
