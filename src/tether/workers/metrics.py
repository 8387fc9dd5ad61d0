"""A worker's own metrics, and the HTTP endpoint that serves its desk's registry to Prometheus.

A run's metrics are counted by the process that executes it, so a `tether worker` serves them
itself: the runtime's series (the same names the API's `/metrics` has) plus a few about the
worker. The endpoint is off unless a port is given, binds to 127.0.0.1 unless told otherwise,
and asks for no key: put it on a network only Prometheus reaches.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from tether.core.errors import ErrorCode, TetherError
from tether.core.types import Run
from tether.workers.queue import Handler, RunQueue

PORT_ENV = "TETHER_WORKER_METRICS_PORT"
HOST_ENV = "TETHER_WORKER_METRICS_HOST"
DEFAULT_METRICS_HOST = "127.0.0.1"
MAX_PORT = 65535


@dataclass(frozen=True)
class MetricsEndpoint:
    """Where a worker serves its metrics."""

    host: str
    port: int

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"


def metrics_endpoint(
    port: str | None = None, host: str | None = None, environ: Mapping[str, str] | None = None
) -> MetricsEndpoint | None:
    """The endpoint `--metrics-port`/`--metrics-host` ask for, else `TETHER_WORKER_METRICS_PORT`
    and `TETHER_WORKER_METRICS_HOST`; None when the port is unset or 0 (metrics not served).
    CONFIG_INVALID for a port that is not a whole number from 0 to 65535, or an empty
    `--metrics-host` (the variables, when empty, are as unset)."""
    env = os.environ if environ is None else environ
    if port is not None:
        port_name, raw_port = "--metrics-port", port
    else:  # an empty variable is as unset
        port_name, raw_port = PORT_ENV, env.get(PORT_ENV, "")
    text = raw_port.strip()
    given = bool(text) or port is not None
    if given and not (text.isascii() and text.isdigit() and int(text) <= MAX_PORT):
        raise TetherError(
            ErrorCode.CONFIG_INVALID,
            f"{port_name} must be a whole number from 0 (metrics off) to {MAX_PORT}, "
            f"not {raw_port!r}",
        )
    if host is not None:
        bind = host.strip()
        if not bind:
            raise TetherError(
                ErrorCode.CONFIG_INVALID, "--metrics-host must name an address to serve metrics on"
            )
    else:
        bind = env.get(HOST_ENV, "").strip() or DEFAULT_METRICS_HOST
    return MetricsEndpoint(bind, int(text)) if given and int(text) else None


class MetricsServer:
    """The registry served over HTTP on a daemon thread, until `close()`."""

    def __init__(self, registry: CollectorRegistry, endpoint: MetricsEndpoint) -> None:
        self.endpoint = endpoint
        try:
            server, self._thread = start_http_server(endpoint.port, endpoint.host, registry)
        except OSError as exc:  # in use, not an address of this host, not allowed
            reason = exc.strerror or str(exc)
            raise TetherError(
                ErrorCode.CONFIG_INVALID,
                f"cannot serve metrics on {endpoint.host}:{endpoint.port}: {reason}; "
                "choose another --metrics-port or --metrics-host",
                {"host": endpoint.host, "port": endpoint.port},
            ) from None
        self._server: WSGIServer = server

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5.0)


class WorkerMetrics:
    """What a worker adds to its desk's registry: the runs it handled, how busy it is, and how
    many runs wait on the queue it takes from."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.runs = Counter(
            "tether_worker_runs",
            "Runs this worker executed from the queue or recovered, by how it left them",
            ("source", "status"),
            registry=registry,
        )

    def counted(self, source: str) -> Callable[[Run], None]:
        """A hook that counts a run handled from `source` ("queue" or "recovery")."""

        def count(run: Run) -> None:
            self.runs.labels(source, run.status.value).inc()

        return count

    def taking(self, queue: RunQueue, threads: int, handler: Handler) -> Handler:
        """Watch `queue`'s depth and `threads`, and `handler` (returned wrapped) as it runs;
        only a worker that takes runs has these gauges (on SQLite the queue is the API's)."""
        busy = Gauge(
            "tether_worker_runs_in_progress",
            "Runs this worker is executing now",
            registry=self.registry,
        )
        Gauge(
            "tether_worker_threads", "Runs this worker may execute at once", registry=self.registry
        ).set(threads)
        queue_depth = Gauge(
            "tether_queue_depth",
            "Runs waiting on the run queue for a worker, read when scraped (NaN: unreachable)",
            registry=self.registry,
        )

        def depth() -> float:
            try:
                return float(queue.depth())
            except TetherError:  # the queue's database is down: say unknown, fail no scrape
                return math.nan

        queue_depth.set_function(depth)

        def handle(run_id: str) -> None:
            with busy.track_inprogress():
                handler(run_id)

        return handle
