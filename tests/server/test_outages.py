"""A dependency outage under load is a 503 with a stable code, never a 500: the database's
connections are cut by a real TCP proxy in front of PostgreSQL, then restored."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

import httpx
import pytest

from tether.domains.retail.db import RetailDB
from tether.domains.retail.desk import open_retail_desk
from tether.server.app import create_app
from tether.store.runs import RunStore

from .conftest import ORDER_QUESTION, ORDER_SCRIPT, serve


class Proxy:
    """Forwards 127.0.0.1:<port> to PostgreSQL until `cut()`, which drops every connection
    and refuses new ones; `restore()` forwards again."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.open = threading.Event()
        self.open.set()
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.open.is_set():
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self.open.clear()
        with self.lock:
            for s in self.sockets:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
            self.sockets.clear()

    def restore(self) -> None:
        self.open.set()

    def close(self) -> None:
        self.cut()
        self.listener.close()


@pytest.fixture
def proxy() -> Iterator[Proxy]:
    found = Proxy(("127.0.0.1", 5432))
    yield found
    found.close()


def test_a_lost_database_answers_503_everywhere_and_recovers(pg_url: str, proxy: Proxy) -> None:
    url = pg_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    assert url != pg_url
    desk = open_retail_desk(RunStore.open(url), db=RetailDB.fresh_copy())
    app = create_app(desk, allow_scripts=True, workers=2)
    key, _ = app.state.operators.create("admin", name="tests", actor="tests")
    body = {"principal": "raj_sanchez_2970", "input": ORDER_QUESTION, "script": ORDER_SCRIPT}
    try:
        with (
            serve(app) as base,
            httpx.Client(
                base_url=base, timeout=60, headers={"Authorization": f"Bearer {key}"}
            ) as client,
        ):
            assert client.post("/v1/runs?wait=60", json=body).status_code == 200
            proxy.cut()
            answers = {
                "list": client.get("/v1/runs"),
                "start": client.post("/v1/runs", json=body),
                "healthz": client.get("/healthz"),
                "readyz": client.get("/readyz"),
            }
            for name, answer in answers.items():
                assert answer.status_code == 503, (name, answer.status_code, answer.text)
            for name in ("list", "start", "healthz"):
                assert answers[name].json()["code"] == "STORE_UNAVAILABLE", name
                assert "Retry-After" in answers[name].headers or name == "healthz"
            assert answers["readyz"].json()["checks"]["store"]["ok"] is False
            proxy.restore()
            assert client.get("/v1/runs").status_code == 200
            done = client.post("/v1/runs?wait=60", json=body)
            assert done.status_code == 200 and done.json()["decision"]["kind"] == "answer"
    finally:
        app.state.queue.stop()
        app.state.recovery.stop()
        app.state.approvals.service.stop()
        desk.store.close()
