"""The observers a runtime gets: metrics, KPIs, logs and (when export is configured) traces.

`Observability` holds what is shared by every runtime of a process (the metrics registry and
the tracer provider); `observers(engine)` adds what belongs to one system of record (KPIs).
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine

from tether.core.observers import RunObserver
from tether.core.types import Run, RunStatus, Step
from tether.observe.kpi import run_kpis
from tether.observe.kpi_store import KpiStore
from tether.observe.logs import LogObserver
from tether.observe.metrics import TetherMetrics
from tether.observe.tracing import TraceObserver, Tracing


class MetricsObserver:
    """Counts committed steps and ended runs into `TetherMetrics`."""

    def __init__(self, metrics: TetherMetrics) -> None:
        self.metrics = metrics

    def on_steps(self, run: Run, steps: Sequence[Step]) -> None:
        self.metrics.observe_steps(run.agent, steps)

    def on_run_end(self, run: Run) -> None:
        self.metrics.observe_run(run)


class KpiObserver:
    """Adds each ended run to its minute's KPI rollup in the system of record, in the
    transaction that commits its Decision: a run counts once, even if its process dies right
    after that commit. A run whose KPIs could not be prepared there is added after it."""

    def __init__(self, kpis: KpiStore, release: str | None = None) -> None:
        self.kpis = kpis
        self.release = release
        self._counted: set[str] = set()  # ended runs whose KPIs rode in their Decision's commit
        self._lock = threading.Lock()

    def on_steps(self, run: Run, steps: Sequence[Step]) -> None:
        return None  # a run counts once, when it ends

    def prepare_ending(self, run: Run) -> Callable[[Connection], None] | None:
        if run.status is not RunStatus.COMPLETED:
            return None
        kpis = run_kpis(run, run.release or self.release)

        def write(conn: Connection) -> None:
            self.kpis.add_run(conn, kpis)
            with self._lock:
                self._counted.add(run.id)

        return write

    def on_run_end(self, run: Run) -> None:
        with self._lock:
            if run.id in self._counted:
                self._counted.discard(run.id)
                return
        if run.status is RunStatus.COMPLETED:
            self.kpis.record_run(run, run.release or self.release)


@dataclass
class Observability:
    """What a process shares across its runtimes: one metrics registry, one tracer."""

    metrics: TetherMetrics = field(default_factory=TetherMetrics)
    tracing: Tracing | None = None

    def observers(self, engine: Engine, release: str | None = None) -> tuple[RunObserver, ...]:
        """The observers of a runtime whose runs are stored through `engine`."""
        found: list[RunObserver] = [
            MetricsObserver(self.metrics),
            KpiObserver(KpiStore(engine), release),
            LogObserver(),
        ]
        if self.tracing is not None:
            found.append(TraceObserver(self.tracing))
        return tuple(found)

    def shutdown(self) -> None:
        """Stop exporting spans (bounded wait)."""
        if self.tracing is not None:
            self.tracing.shutdown()


_default: Observability | None = None
_lock = threading.Lock()


def default_observability() -> Observability:
    """The process's observability: created on first use, with OTLP export when `OTEL_*`
    asks for it, and stopped at exit."""
    global _default
    with _lock:
        if _default is None:
            _default = Observability(TetherMetrics(), Tracing.from_env())
            atexit.register(_default.shutdown)
        return _default
