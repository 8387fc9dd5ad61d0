"""A worker serves the metrics of the runs it executes: a real `tether worker` on PostgreSQL
takes a queued run and its /metrics counts it; on SQLite a worker's recovered run is counted;
the endpoint is off unless asked for, and a bad or taken port stops the worker plainly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from tests.workers.test_queued_runs import request
from tests.workers.test_recovery import crashed_run, ended_once
from tether.cli.app import app
from tether.cli.worker import Worker
from tether.core.errors import ErrorCode, TetherError
from tether.core.types import RunStatus
from tether.domains.retail.db import RetailDB
from tether.domains.retail.desk import open_retail_desk
from tether.observe import Observability, TetherMetrics
from tether.sdk import Desk
from tether.store import RunStore
from tether.store.leases import Lease
from tether.workers.metrics import MetricsEndpoint, metrics_endpoint
from tether.workers.pg_queue import PostgresQueue

TETHER = str(Path(sys.executable).parent / "tether")
WAIT_S = 25.0
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def scrape(url: str) -> Samples:
    """Every sample on `url`, by name and sorted labels."""
    response = httpx.get(url, timeout=5)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def scrape_until(
    url: str, name: str, labels: dict[str, str], alive: subprocess.Popen[str] | None = None
) -> Samples:
    """Scrape `url` until the sample `name{labels}` is there (the worker may still be starting)."""
    key = (name, tuple(sorted(labels.items())))
    deadline = time.monotonic() + WAIT_S
    while True:
        if alive is not None:
            assert alive.poll() is None, alive.communicate()[1]
        try:
            samples = scrape(url)
        except httpx.TransportError:
            samples = {}
        if key in samples:
            return samples
        assert time.monotonic() < deadline, f"{name}{labels} never appeared on {url}"
        time.sleep(0.2)


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of `name`'s samples whose labels include `labels`."""
    return sum(
        value
        for (sample, found), value in samples.items()
        if sample == name and set(labels.items()) <= set(found)
    )


@pytest.fixture
def sqlite_desk(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Desk]:
    """The retail desk on SQLite with one-second leases and a metrics registry of its own."""
    monkeypatch.setenv("TETHER_RUN_LEASE_SECONDS", "1")
    store = RunStore.open(sqlite_url)
    yield open_retail_desk(
        store, db=RetailDB.fresh_copy(), observability=Observability(TetherMetrics())
    )
    store.close()


# -- where the metrics are served --------------------------------------------------------------


def test_metrics_are_served_only_when_a_port_is_given() -> None:
    assert metrics_endpoint(environ={}) is None
    assert metrics_endpoint(environ={"TETHER_WORKER_METRICS_PORT": "0"}) is None
    assert metrics_endpoint("0", environ={"TETHER_WORKER_METRICS_PORT": "9464"}) is None
    found = metrics_endpoint(environ={"TETHER_WORKER_METRICS_PORT": " 9464 "})
    assert found == MetricsEndpoint("127.0.0.1", 9464)  # this host only, unless told
    env = {"TETHER_WORKER_METRICS_PORT": "9464", "TETHER_WORKER_METRICS_HOST": "0.0.0.0"}
    assert metrics_endpoint(environ=env) == MetricsEndpoint("0.0.0.0", 9464)
    assert metrics_endpoint("9500", "::1", env) == MetricsEndpoint("::1", 9500)  # flags win
    assert MetricsEndpoint("::1", 9500).url == "http://[::1]:9500/metrics"
    empty = {"TETHER_WORKER_METRICS_PORT": "", "TETHER_WORKER_METRICS_HOST": " "}
    assert metrics_endpoint(environ=empty) is None  # empty variables are as unset
    assert metrics_endpoint("1", environ=empty) == MetricsEndpoint("127.0.0.1", 1)


@pytest.mark.parametrize(
    ("port", "host", "environ", "named"),
    [
        ("-1", None, {}, "--metrics-port"),
        ("65536", None, {}, "--metrics-port"),
        ("9464.0", None, {}, "--metrics-port"),
        (None, None, {"TETHER_WORKER_METRICS_PORT": "metrics"}, "TETHER_WORKER_METRICS_PORT"),
        ("9464", " ", {}, "--metrics-host"),
        ("²", None, {}, "--metrics-port"),
        ("", None, {}, "--metrics-port"),
        (None, None, {"TETHER_WORKER_METRICS_PORT": "-5"}, "TETHER_WORKER_METRICS_PORT"),
    ],
)
def test_a_bad_port_or_host_is_a_config_error_naming_the_setting(
    port: str | None, host: str | None, environ: dict[str, str], named: str
) -> None:
    with pytest.raises(TetherError) as caught:
        metrics_endpoint(port, host, environ)
    assert caught.value.code is ErrorCode.CONFIG_INVALID
    assert named in caught.value.message


def test_the_worker_command_refuses_a_bad_port_before_it_opens_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "never.db"
    monkeypatch.setenv("TETHER_DATABASE_URL", f"sqlite:///{database}")
    result = CliRunner().invoke(app, ["worker", "--metrics-port", "70000"])
    assert result.exit_code == 2
    assert "error CONFIG_INVALID: --metrics-port must be a whole number" in result.stderr
    assert "Traceback" not in result.output + result.stderr
    assert not database.exists()  # refused before the store was opened


@pytest.mark.timeout(30)  # were the port bound, the worker would wait for a signal
def test_a_port_in_use_stops_the_worker_with_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TETHER_HOME", str(tmp_path))
    monkeypatch.setenv("TETHER_DATABASE_URL", f"sqlite:///{tmp_path / 'tether.db'}")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        monkeypatch.setenv("TETHER_WORKER_METRICS_PORT", str(port))
        result = CliRunner().invoke(app, ["worker"])
    assert result.exit_code == 2
    assert f"error CONFIG_INVALID: cannot serve metrics on 127.0.0.1:{port}" in result.stderr
    assert "in use" in result.stderr and "Traceback" not in result.output + result.stderr


# -- what they count ---------------------------------------------------------------------------


def test_a_worker_on_sqlite_serves_the_metrics_of_the_run_it_recovered(sqlite_desk: Desk) -> None:
    run_id = crashed_run(sqlite_desk, Lease("dead-host:1:aa", time.time() - 1))
    port = free_port()
    worker = Worker(sqlite_desk, MetricsEndpoint("127.0.0.1", port))
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        assert not worker.taking  # on SQLite the queue is the API process's own
        worker.start()
        labels = {"source": "recovery", "status": "completed"}
        samples = scrape_until(url, "tether_worker_runs_total", labels)
    finally:
        worker.stop()
    assert total(samples, "tether_worker_runs_total", **labels) == 1
    store = RunStore.open(str(sqlite_desk.store.engine.url))  # the worker closed its own
    try:
        ended_once(open_retail_desk(store, db=sqlite_desk.data), run_id)
    finally:
        store.close()
    # the runtime's series, under the API's names, count what the resume did in this process
    assert total(samples, "tether_runs_total", decision="answer") == 1
    assert total(samples, "tether_tool_calls_total", tool="get_order_details") == 1
    assert ("tether_queue_depth", ()) not in samples  # it takes nothing from a queue here
    with pytest.raises(httpx.TransportError):  # stopped: the endpoint is gone
        httpx.get(url, timeout=2)


def test_a_worker_process_on_postgres_serves_the_metrics_of_the_run_it_took(
    pg_url: str, tmp_path: Path
) -> None:
    """A run queued as the API queues it is taken by a real `tether worker` process, whose
    /metrics then counts it, beside the queue's depth and the worker's threads."""
    store = RunStore.open(pg_url)
    db = RetailDB(store.engine)
    db.create_tables()
    db.load_packaged()
    desk = open_retail_desk(store, db=db)  # makes the access tables and audit key once
    queued = desk.runtime.submit(request())
    api = PostgresQueue(pg_url, 10, pack=desk.domain.name)  # the queue its worker takes from
    api.enqueue(queued.id)
    api.stop()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TETHER_")}
    port = free_port()
    env |= {
        "TETHER_HOME": os.environ["TETHER_HOME"],
        "TETHER_DATABASE_URL": pg_url,
        "TETHER_WORKERS": "2",
        "TETHER_WORKER_METRICS_PORT": str(port),
    }
    worker = subprocess.Popen(
        [TETHER, "worker"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env
    )
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        labels = {"source": "queue", "status": "completed"}
        samples = scrape_until(url, "tether_worker_runs_total", labels, alive=worker)
    finally:
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=WAIT_S)
    assert worker.returncode == 0, stderr
    assert f"metrics on {url}" in stderr
    assert total(samples, "tether_worker_runs_total", **labels) == 1
    assert samples[("tether_queue_depth", ())] == 0  # the run was taken off the queue
    assert samples[("tether_worker_threads", ())] == 2
    assert samples[("tether_worker_runs_in_progress", ())] == 0
    assert total(samples, "tether_runs_total", agent="retail-desk", decision="answer") == 1
    assert total(samples, "tether_tool_calls_total", outcome="ok") == 2
    assert total(samples, "tether_stage_duration_seconds_count", stage="decision") == 1
    ran = desk.store.get_run(queued.id)
    assert ran.status is RunStatus.COMPLETED and ran.decision is not None
    store.close()
