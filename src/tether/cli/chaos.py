"""`tether chaos`: a domain's scenarios with seeded faults injected into every tool.

Each run picks the next demo scenario, gets a fresh copy of the domain's data and a tool set
whose calls misbehave at the given rate (latency past the timeout, exceptions, upstream
errors, malformed output, rate-limit errors, and effects that commit and then time out or lose
their connection). Writes get one attempt and no fallback, so their failures reach the model,
and the model (`chaos_model.RetryingModel`) proposes a failed write again, as an eager model
would: only the runtime stands between it and a repeated effect. All runs share one envelope
executor, so breakers open and close across runs as they would in production. Afterwards the
report is built from the record, not from counters kept on the side: decisions and undecided
runs from the runs table, retries, breaker openings and fallbacks from the tool steps, and
duplicate side effects from the domain's effect log (e.g. the retail pack's SQLite triggers on
every record change).
"""

from __future__ import annotations

import dataclasses
import json
import random
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from rich.table import Table
from sqlalchemy import func, select

from tether.cli.chaos_model import play_retrying, retries_in
from tether.cli.common import out
from tether.core.clock import RandomIds
from tether.core.envelope import (
    BreakerPolicy,
    Envelope,
    FallbackPolicy,
    RetryPolicy,
)
from tether.core.errors import ErrorCode, TetherError
from tether.core.types import RiskClass, Run, StepKind
from tether.sdk.desk import Desk
from tether.sdk.domain import Domain
from tether.sdk.scenarios import Scenario, load_scenarios, scenario_desk
from tether.store.runs import RunStore
from tether.store.schema import runs as runs_table
from tether.tools.envelope import EnvelopeExecutor
from tether.tools.registry import Tool, ToolRegistry
from tether.tools.shared_state import InProcessState
from tether.tools.workers import shared_pool

FAULTS = (
    "latency",
    "exception",
    "upstream",
    "malformed",
    "rate_limited",
    "commit_then_timeout",  # the effect commits, then the call overruns its deadline
    "commit_then_disconnect",  # the effect commits, then the connection drops
)
TIMEOUT_S = 0.1  # small, so latency faults cost little wall time
LATENCY_FACTOR = 2.5  # an injected delay is this many timeouts: the attempt is abandoned
REPORT_KEYS = (
    "runs",
    "completed",
    "escalated",
    "refused",
    "failed",
    "duplicate_side_effects",
    "lost_runs",
    "retries",
    "breaker_opens",
    "fallbacks",
    "undecided",
    "model_retries",
)

_RETRY = RetryPolicy(max_attempts=3, base_delay_s=0.002, max_delay_s=0.02)
_BREAKER = BreakerPolicy(failure_rate=0.4, window_s=2.0, min_calls=8, open_s=0.25)


def chaos_envelope(read: bool, timeout_s: float = TIMEOUT_S) -> Envelope:
    """Small timeouts and fast backoff; reads retry and fall back to a cached result. Writes
    get one attempt and no fallback: every failure reaches the runtime and the model."""
    if not read:
        return Envelope(timeout_s=timeout_s, retry=RetryPolicy.never(), breaker=_BREAKER)
    fallback = FallbackPolicy.cached(60.0)
    return Envelope(timeout_s=timeout_s, retry=_RETRY, breaker=_BREAKER, fallback=(fallback,))


class EffectLog(Protocol):
    """A domain's record of committed changes, to count side effects that happened twice."""

    def install(self, data: Any) -> None:
        """Start logging every committed change to the domain's records in `data`."""
        ...

    def changes(self, data: Any) -> Mapping[str, int]:
        """How many times each record was changed since `install`."""
        ...


class FaultInjector:
    """Makes a seeded share of tool calls misbehave, each in one of the FAULTS ways."""

    def __init__(
        self,
        rate: float,
        rng: random.Random,
        timeout_s: float = TIMEOUT_S,
        kinds: Sequence[str] = FAULTS,
        writes_only: bool = False,
    ) -> None:
        unknown = sorted(set(kinds) - set(FAULTS))
        if unknown or not kinds:
            raise TetherError(
                ErrorCode.CONFIG_INVALID, f"fault kinds must be some of {list(FAULTS)}: {unknown}"
            )
        self.rate = rate
        self.rng = rng
        self.timeout_s = timeout_s
        self.kinds = tuple(kinds)
        self.writes_only = writes_only  # reads then never fail, so every run reaches its writes
        self.injected: Counter[str] = Counter()

    def wrap(self, tool: Tool) -> Tool:
        read = tool.spec.risk is RiskClass.READ
        fn = tool.fn if read and self.writes_only else self._faulty(tool.fn)
        return dataclasses.replace(tool.with_envelope(chaos_envelope(read, self.timeout_s)), fn=fn)

    def _faulty(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def call(**arguments: Any) -> Any:
            # draws happen before any sleep, so abandoned calls never shift the sequence
            if self.rng.random() >= self.rate:
                return fn(**arguments)
            fault = self.rng.choice(self.kinds)
            self.injected[fault] += 1
            if fault == "commit_then_timeout":
                result = fn(**arguments)
                time.sleep(self.timeout_s * LATENCY_FACTOR)
                return result
            if fault == "commit_then_disconnect":
                fn(**arguments)
                raise ConnectionResetError("injected: the connection dropped after the commit")
            if fault == "latency":
                effect_first = self.rng.random() < 0.5
                result = fn(**arguments) if effect_first else None
                time.sleep(self.timeout_s * LATENCY_FACTOR)
                return result if effect_first else fn(**arguments)
            if fault == "exception":
                raise RuntimeError("injected fault")
            if fault == "upstream":
                raise TetherError(ErrorCode.UPSTREAM_ERROR, "injected upstream failure")
            if fault == "rate_limited":
                raise TetherError(
                    ErrorCode.RATE_LIMITED, "injected upstream rate limit", {"retry_after_s": 0.005}
                )
            fn(**arguments)  # the effect happens, but the reply is garbage
            return ["malformed"]

        return call


@dataclass
class ChaosReport:
    """What happened across the chaos runs."""

    runs: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    duplicate_side_effects: int = 0
    lost_runs: int = 0
    retries: int = 0
    breaker_opens: int = 0
    fallbacks: int = 0
    undecided: int = 0  # runs in the runs table without a Decision
    model_retries: int = 0  # failed writes the model proposed again
    faults: Counter[str] = field(default_factory=Counter)  # injected, by kind
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "completed": sum(self.outcomes[k] for k in _COMPLETED),
            "escalated": self.outcomes["escalation"],
            "refused": self.outcomes["refusal"],
            "failed": self.outcomes["failed"],
            "duplicate_side_effects": self.duplicate_side_effects,
            "lost_runs": self.lost_runs,
            "retries": self.retries,
            "breaker_opens": self.breaker_opens,
            "fallbacks": self.fallbacks,
            "undecided": self.undecided,
            "model_retries": self.model_retries,
            "faults": {kind: self.faults[kind] for kind in FAULTS},
        }

    @property
    def healthy(self) -> bool:
        return not (
            self.outcomes["failed"]
            or self.duplicate_side_effects
            or self.lost_runs
            or self.undecided
        )


# decisions that complete a turn (a question or a confirmation request waits on the user)
_COMPLETED = ("answer", "action", "clarification", "confirmation")


class _RecordingIds(RandomIds):
    """Remembers every run id handed out, so a run that never finished is still counted."""

    def __init__(self) -> None:
        self.runs: list[str] = []

    def new_id(self, prefix: str) -> str:
        value = super().new_id(prefix)
        if prefix == "run":
            self.runs.append(value)
        return value


def effect_log(domain: Domain) -> EffectLog:
    """The domain's effect log (its `"effect log"` harness); chaos needs one."""
    found = domain.harnesses.get("effect log")
    if found is None:
        raise TetherError(
            ErrorCode.DOMAIN_INVALID,
            f"domain {domain.name!r} declares no 'effect log' harness, so chaos cannot count "
            "side effects that happen twice",
        )
    log: EffectLog = found()
    return log


def run_harness(
    domain: Domain, store: RunStore, runs: int, fault_rate: float, seed: int
) -> ChaosReport:
    """`tether chaos`: the domain's own chaos harness if it has one, else the generic one."""
    own = domain.harnesses.get("chaos")
    if own is not None:
        report: ChaosReport = own(store=store, runs=runs, fault_rate=fault_rate, seed=seed)
        return report
    return run_chaos(domain, store, runs, fault_rate, seed)


def run_chaos(
    domain: Domain,
    store: RunStore,
    runs: int,
    fault_rate: float,
    seed: int,
    timeout_s: float = TIMEOUT_S,
    kinds: Sequence[str] = FAULTS,
    writes_only: bool = False,
) -> ChaosReport:
    """Run `runs` of the domain's scenarios under faults (of the given kinds, in every tool or
    only in writes) and report on them from the record."""
    started, since = time.monotonic(), time.time()
    scenarios = load_scenarios(None, domain)
    log = effect_log(domain)
    executor = EnvelopeExecutor(InProcessState(), rng=random.Random(seed))
    report = ChaosReport(runs=runs)
    for index in range(runs):
        scenario = scenarios[index % len(scenarios)]
        rng = random.Random(f"{seed}:{index}")
        injector = FaultInjector(fault_rate, rng, timeout_s, kinds, writes_only)
        ids = _RecordingIds()
        desk = None
        try:
            desk = scenario_desk(domain, store, scenario, ids=ids)
            log.install(desk.data)
            made = _run_one(desk, scenario, injector, executor)
            shared_pool().wait_idle(5.0)  # abandoned calls may still change records
            last = made[-1]
            report.outcomes[last.decision.kind.value if last.decision else "failed"] += 1
            report.duplicate_side_effects += duplicate_effects(log.changes(desk.data), made)
            for run in made:
                _count_envelope(report, run)
                report.model_retries += retries_in(run)
        except Exception:  # a crash is what chaos looks for: count it, never hide it
            report.outcomes["failed"] += 1
        finally:
            report.faults.update(injector.injected)
            close = getattr(getattr(desk, "data", None), "close", None)
            if callable(close):
                close()
        report.lost_runs += sum(
            store.get_run(rid, with_steps=False).decision is None for rid in ids.runs
        )
    report.undecided = undecided_runs(store, since)
    report.seconds = time.monotonic() - started
    return report


def undecided_runs(store: RunStore, since: float) -> int:
    """Runs created since `since` (epoch seconds) that the runs table shows without a Decision."""
    query = (
        select(func.count())
        .select_from(runs_table)
        .where(runs_table.c.created_at >= since, runs_table.c.decision.is_(None))
    )
    with store.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def _run_one(
    desk: Desk,
    scenario: Scenario,
    injector: FaultInjector,
    executor: EnvelopeExecutor,
) -> list[Run]:
    """The scenario's conversation under faults, with a model that retries failed writes;
    every run it made, as stored, the last one (after the scenario's approval) last."""
    tools = desk.runtime.tools
    registry = ToolRegistry(injector.wrap(t) for t in map(tools.get, tools.names()) if t)
    desk.runtime = dataclasses.replace(desk.runtime, tools=registry, executor=executor)
    runs = play_retrying(desk, scenario)
    if not runs:
        raise TetherError(ErrorCode.SCENARIO_INVALID, f"{scenario.name}: no turn ran")
    return runs


def duplicate_effects(changes: Mapping[str, int], runs: Sequence[Run]) -> int:
    """Changes to one record beyond the number of distinct writes the runs asked for: a write
    is its tool and arguments, so asking again for the same one (under whatever key) is not
    a new write."""
    writes = {
        (s.data.get("tool"), json.dumps(s.data.get("arguments"), sort_keys=True))
        for run in runs
        for s in run.steps
        if s.kind is StepKind.TOOL and s.data.get("risk") != "read"
    }
    return sum(max(0, int(count) - len(writes)) for count in changes.values())


def _count_envelope(report: ChaosReport, run: Run) -> None:
    for step in run.steps:
        if step.kind is not StepKind.TOOL:
            continue
        attempts: list[Mapping[str, Any]] = step.data.get("attempts", [])
        report.retries += sum(1 for a in attempts if a.get("attempt", 1) > 1)
        report.breaker_opens += sum(1 for a in attempts if a.get("breaker_opened"))
        report.fallbacks += "fallback" in step.data


def print_report(report: ChaosReport, as_json: bool) -> None:
    data = report.to_dict()
    if as_json:
        print(json.dumps(data))
        return
    table = Table("measure", "value", title=f"chaos: {report.runs} runs in {report.seconds:.1f} s")
    for key in REPORT_KEYS:
        table.add_row(key, str(data[key]))
    table.add_row("faults", ", ".join(f"{k} {n}" for k, n in data["faults"].items()))
    out.print(table)
    verdict = "[green]every run ended in a Decision[/]"
    if not report.healthy:
        verdict = "[red]runs failed, were lost, stayed undecided, or repeated a side effect[/]"
    out.print(verdict)
