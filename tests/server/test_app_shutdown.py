"""An app's shutdown stops everything it started off the request path: its worker threads,
recovery sweeps, approval notices, release looks and (on PostgreSQL) the queue and the listener
for runs settled elsewhere. Left running, each app served and let go kept threads and pooled
database connections for the rest of the process, and a long-lived host ran out of both."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import uvicorn

from tether.domains.retail.db import RetailDB
from tether.domains.retail.desk import open_retail_desk
from tether.server.app import create_app
from tether.store.runs import RunStore

from .conftest import admin_headers, order_run_body

# the threads an app starts; any other thread (a store's, a lease renewer's) is not the app's
APP_THREADS = ("tether-worker", "tether-recovery", "tether-approvals", "tether-releases",
               "tether-queue", "tether-settled")  # fmt: skip


def app_threads(before: set[threading.Thread]) -> list[str]:
    return sorted(
        t.name
        for t in threading.enumerate()
        if t not in before and t.is_alive() and t.name.startswith(APP_THREADS)
    )


def test_a_served_app_stops_all_it_started_when_its_server_shuts_down(
    store_url: str,
) -> None:
    before = set(threading.enumerate())
    store = RunStore.open(store_url)
    try:
        app = create_app(open_retail_desk(store, db=RetailDB.fresh_copy()), allow_scripts=True)
        started = app_threads(before)
        # workers are threads on SQLite's queue, tasks of the queue's thread on PostgreSQL's
        assert {"tether-recovery", "tether-approvals"} <= set(started), started
        assert any(name.startswith(("tether-worker", "tether-queue")) for name in started)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        # lifespan on: the shutdown is the one a deployment's server sends
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.started
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            answered = client.post(
                "/v1/runs?wait=30", json=order_run_body(), headers=admin_headers(app)
            )
        assert answered.status_code == 200, answered.text
        assert answered.json()["decision"]["kind"] == "answer"
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()
        assert not thread.is_alive()
        assert app_threads(before) == []
        app.state.stop_work()  # a second stop, as a host that stops the app itself may send
        assert app_threads(before) == []
    finally:
        store.close()


def test_an_app_refused_for_its_configuration_leaves_nothing_running(
    store_url: str,
) -> None:
    before = set(threading.enumerate())
    store = RunStore.open(store_url)
    try:
        desk = open_retail_desk(store, db=RetailDB.fresh_copy())
        try:
            create_app(desk, workers=0)  # refused on SQLite's queue; served on PostgreSQL's
        except Exception as exc:
            assert "TETHER_WORKERS=0" in str(exc)
        else:
            assert store_url.startswith("postgresql")
            return  # accepted: the other test covers an app that runs
        assert app_threads(before) == []
    finally:
        store.close()
