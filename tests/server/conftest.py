"""A real uvicorn server on 127.0.0.1 (ephemeral port) over a retail desk, called with httpx."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from tether.core.errors import ErrorCode, TetherError
from tether.domains.retail.db import RetailDB
from tether.domains.retail.desk import open_retail_desk
from tether.models.base import ModelRequest, ModelTurn
from tether.sdk import Desk
from tether.server.app import create_app
from tether.server.lingering import LingeringH11Protocol
from tether.store.runs import RunStore

ORDER_QUESTION = "What is the status of order #W4566809? My email is raj.sanchez2046@example.com"
ORDER_SCRIPT: list[dict[str, Any]] = [
    {"tool": "find_user_id_by_email", "args": {"email": "raj.sanchez2046@example.com"}},
    {"tool": "get_order_details", "args": {"order_id": "#W4566809"}},
    {"answer": "Order #W4566809 is pending [tool:2]."},
]


HELD = threading.Event()  # set: every HeldModel's turn goes on


class HeldModel:
    """A model whose every turn waits until the test lets it go (`HELD.set()`, at most a
    minute), then fails: its runs stay in flight (and its worker busy) meanwhile."""

    name = "held"

    def propose(self, request: ModelRequest) -> ModelTurn:
        HELD.wait(60)
        raise TetherError(ErrorCode.MODEL_UNAVAILABLE, "released")


@pytest.fixture
def held() -> Iterator[None]:
    """HeldModel turns wait for the test, and go on whatever it leaves behind."""
    HELD.clear()
    yield
    HELD.set()


def order_run_body(**overrides: Any) -> dict[str, Any]:
    """The request body of a scripted run that looks up an order and answers with a citation."""
    body: dict[str, Any] = {
        "principal": "raj_sanchez_2970",
        "messages": [{"role": "user", "content": ORDER_QUESTION}],
        "script": ORDER_SCRIPT,
    }
    body.update(overrides)
    return body


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Run `app` under uvicorn in a background thread; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off", http=LingeringH11Protocol)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        stop_work(app)


def stop_work(app: FastAPI) -> None:
    """Stop what an app runs off the request path (workers, recovery, approvals, release looks,
    the settle listener, built release desks): uvicorn runs here without lifespan, so its
    shutdown handler never fires. Left running, each app's threads and pools outlive the test."""
    stop = getattr(app.state, "stop_work", None)  # an app of the dashboard alone has none
    if stop is not None:
        stop()


def admin_headers(app: FastAPI) -> dict[str, str]:
    """An Authorization header with a new admin key of the app's store.

    A store that cannot be reached gets a well-formed key it does not know, so requests still
    get as far as the store (and fail there)."""
    try:
        key, _ = app.state.operators.create("admin", name="tests", actor="tests")
    except TetherError:
        key = "tk_0000000000000000." + "x" * 43
    return {"Authorization": f"Bearer {key}"}


def open_desk(directory: Path) -> Desk:
    """A desk with its own run store (SQLite file) and its own copy of the retail data."""
    store = RunStore.open(f"sqlite:///{directory / 't.db'}")
    return open_retail_desk(store, db=RetailDB.fresh_copy())


@pytest.fixture(scope="session")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    desk = open_desk(tmp_path_factory.mktemp("server"))
    yield desk
    desk.store.close()


@pytest.fixture(scope="session")
def served(desk: Desk) -> Iterator[tuple[str, dict[str, str]]]:
    """The API over the session's desk (default model factory, TETHER_MODEL) and an admin key."""
    app = create_app(desk)
    headers = admin_headers(app)
    with serve(app) as url:
        yield url, headers


@pytest.fixture(scope="session")
def base_url(served: tuple[str, dict[str, str]]) -> str:
    return served[0]


@pytest.fixture
def client(served: tuple[str, dict[str, str]]) -> Iterator[httpx.Client]:
    """A client of the session's API that sends an admin key."""
    url, headers = served
    with httpx.Client(base_url=url, timeout=30, headers=headers) as c:
        yield c


@pytest.fixture
def serve_app() -> Iterator[Callable[[FastAPI], httpx.Client]]:
    """Serve extra apps for one test (other desks or model factories); all stop afterwards."""
    with ExitStack() as stack:

        def start(app: FastAPI) -> httpx.Client:
            headers = admin_headers(app)
            url = stack.enter_context(serve(app))
            return stack.enter_context(httpx.Client(base_url=url, timeout=30, headers=headers))

        yield start
