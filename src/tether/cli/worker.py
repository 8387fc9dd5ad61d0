"""`tether worker`: a process that executes runs off the API's request path.

It takes runs from the run queue (`TETHER_WORKERS` at once) and recovers the runs whose lease
lapsed (their process died), resuming each from its recorded steps. On SQLite the queue lives
inside the process that serves the API, so a worker there only recovers; on PostgreSQL any
number of workers share the queue. With a metrics port it serves its Prometheus metrics over
HTTP. Stop it with SIGTERM or Ctrl-C: it takes no more runs, finishes those it holds (up to
ten seconds) and exits.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

from tether.cli.common import err, open_desk
from tether.cli.heap import freeze_start_up
from tether.models.factory import model_from_env
from tether.sdk.desk import Desk
from tether.sdk.domain import Domain
from tether.sdk.releases import ReleaseDesks
from tether.workers.config import DEFAULT_WORKERS, queue_depth, store_url, worker_threads
from tether.workers.executor import RunExecutor
from tether.workers.metrics import MetricsEndpoint, MetricsServer, WorkerMetrics
from tether.workers.queue import open_queue
from tether.workers.recovery import Recovery
from tether.workers.settling import SettleNotifier


class Worker:
    """One worker's parts over a desk it then owns: its queue, its recovery sweep and, when
    `metrics` names an endpoint, the HTTP server of the desk's metrics."""

    def __init__(self, desk: Desk, metrics: MetricsEndpoint | None = None) -> None:
        self.desk = desk
        registry = desk.observability.metrics.registry
        self.server: MetricsServer | None = None
        try:
            self.threads = worker_threads() or DEFAULT_WORKERS
            self.metrics = WorkerMetrics(registry)
            # bound before the queue opens, so a port it cannot have stops it holding nothing
            self.server = MetricsServer(registry, metrics) if metrics else None
            self.queue = open_queue(store_url(desk.store), queue_depth(), pack=desk.domain.name)
        except BaseException:
            if self.server is not None:
                self.server.close()
            desk.store.close()
            raise
        self.taking = self.queue.kind != "inline"  # an in-process queue is the API's own
        if self.queue.kind == "postgres":  # API processes wait on the runs settled here
            desk.runtime.observers = (*desk.runtime.observers, SettleNotifier(desk.store.engine))
        # each run executes (or resumes) under the release it recorded
        self.pins = ReleaseDesks(desk)
        self.recovery = Recovery(
            desk.runtime,
            model_from_env,
            self.queue,
            on_run=self.metrics.counted("recovery"),
            runtime_of=self.pins.runtime,
        )

    def start(self) -> None:
        """Take runs (when the queue is shared) and sweep for lapsed leases, in the background."""
        if self.taking:
            executor = RunExecutor(
                self.desk.runtime,
                model_from_env,
                on_run=self.metrics.counted("queue"),
                runtime_of=self.pins.runtime,
            )
            self.queue.start(self.metrics.taking(self.queue, self.threads, executor), self.threads)
        self.recovery.start()

    def describe(self) -> str:
        keeper = self.desk.runtime.keeper
        doing = f"taking runs from the {self.queue.kind} queue ({self.threads} at once) and "
        served = f"; metrics on {self.server.endpoint.url}" if self.server else ""
        return (
            f"worker {keeper.owner_prefix}: {doing if self.taking else ''}recovering runs whose "
            f"lease lapsed (lease {keeper.ttl_s:g} s{served}; SIGTERM or Ctrl-C to stop)"
        )

    def stop(self) -> None:
        """Take no more runs, finish those held (up to ten seconds), then close everything."""
        self.recovery.stop()
        self.queue.stop()
        if self.server is not None:
            self.server.close()
        self.pins.close()
        self.desk.store.close()


def run_worker(domain: Domain, metrics: MetricsEndpoint | None = None) -> None:
    """Work until SIGTERM or SIGINT."""
    worker = Worker(open_desk(domain), metrics)
    freeze_start_up()
    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    worker.start()
    err.print(worker.describe(), markup=False)
    stopping.wait()
    worker.stop()
