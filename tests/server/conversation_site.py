"""A real server with the conversation endpoints, over its own store (SQLite or PostgreSQL) and
its own copy of the retail data, with a key for each operator role and a model that holds its
turn until the test opens a gate (a turn that is truly still running)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from tests.server.conftest import serve
from tether.access.end_users import EndUserVerifier
from tether.conversations import ConversationRecord, ConversationStore
from tether.core.errors import ErrorCode, TetherError
from tether.core.types import ModelTurn
from tether.domains.retail.db import RetailDB
from tether.domains.retail.desk import open_retail_desk
from tether.models.base import ModelRequest
from tether.models.scripted import ScriptedModel, parse_script
from tether.sdk import Desk
from tether.server.app import create_app
from tether.store.conversations_schema import conversations
from tether.store.runs import RunFilter, RunStore

USER = "raj_sanchez_2970"
OTHER_USER = "anya_lee_8315"
ORDER = "#W4566809"
ROLES = ("viewer", "approver", "admin", "service")
CANCEL_TEXT = (
    f"Please cancel order {ORDER}, I no longer need it. My e-mail is raj.sanchez2046@example.com."
)
CANCEL_SCRIPT: list[dict[str, Any]] = [
    {"tool": "find_user_id_by_email", "args": {"email": "raj.sanchez2046@example.com"}},
    {"tool": "get_order_details", "args": {"order_id": ORDER}},
    {"tool": "cancel_pending_order", "args": {"order_id": ORDER, "reason": "no longer needed"}},
]
CANCELLED_SCRIPT: list[dict[str, Any]] = [
    {"answer": f"Order {ORDER} is now cancelled and will be refunded [tool:3]."}
]
ANYTHING_ELSE = "Is there anything else I can help with?"
ANYTHING_ELSE_SCRIPT: list[dict[str, Any]] = [{"answer": ANYTHING_ELSE}]


class GatedModel:
    """Holds its turn until `gate` opens, then asks whether there is anything else."""

    def __init__(self, gate: threading.Event) -> None:
        self.gate = gate
        self.script = ScriptedModel(parse_script(ANYTHING_ELSE_SCRIPT), name="gated")

    @property
    def name(self) -> str:
        return "gated"

    def propose(self, request: ModelRequest) -> ModelTurn:
        if not self.gate.wait(30):
            raise TetherError(ErrorCode.MODEL_TIMEOUT, "the test never opened the gate")
        return self.script.propose(request)


@dataclass
class Site:
    url: str
    keys: dict[str, str]
    desk: Desk
    app: FastAPI
    gate: threading.Event

    def client(self, role: str = "service", token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.keys[role]}"}
        if token is not None:
            headers["X-End-User-Token"] = token
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    @property
    def store(self) -> ConversationStore:
        return ConversationStore(self.desk.store.engine)

    def record(self, conversation_id: str) -> ConversationRecord:
        return self.store.get(conversation_id)

    def total_runs(self) -> int:
        return self.desk.store.count_runs(RunFilter())

    def total_conversations(self) -> int:
        return len(self.store.find(limit=10_000))

    def order_status(self) -> str:
        order = self.desk.data.order(ORDER)
        assert order is not None
        return str(order["status"])

    def start(self, principal: str = USER, role: str = "service") -> str:
        """A conversation asserted by an operator; its id."""
        with self.client(role) as c:
            response = c.post("/v1/conversations", json={"principal": principal})
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def expire(self, conversation_id: str) -> None:
        """Age the conversation past its expiry, as time would."""
        with self.desk.store.engine.begin() as conn:
            conn.execute(
                update(conversations)
                .where(conversations.c.id == conversation_id)
                .values(expires_at=time.time() - 1)
            )

    def wait_for_run(
        self, run_id: str, timeout: float = 20, until: Callable[[str], bool] | None = None
    ) -> dict[str, Any]:
        """Poll `GET /v1/runs/{id}` (as a viewer) until `until(status)` holds (default: the run
        is neither queued nor running) or the time is up; the run as last read."""
        done = until or (lambda status: status not in ("queued", "running"))
        deadline = time.monotonic() + timeout
        with self.client("viewer") as c:
            while True:
                run: dict[str, Any] = c.get(f"/v1/runs/{run_id}").json()
                if done(run["status"]) or time.monotonic() > deadline:
                    return run
                time.sleep(0.02)


@contextmanager
def open_site(
    store_url: str,
    allow_scripts: bool | None = None,
    end_users: EndUserVerifier | None = None,
) -> Iterator[Site]:
    store = RunStore.open(store_url)
    desk = open_retail_desk(store, db=RetailDB.fresh_copy())
    gate = threading.Event()
    app = create_app(
        desk,
        model_factory=lambda: GatedModel(gate),
        allow_scripts=allow_scripts,
        end_users=end_users,
    )
    keys = {r: app.state.operators.create(r, name=f"{r} (tests)", actor="tests")[0] for r in ROLES}
    try:
        with serve(app) as url:
            try:
                yield Site(url, keys, desk, app, gate)
            finally:
                gate.set()  # a turn a failed test left holding finishes, so workers can stop
    finally:
        store.close()


def assert_problem(response: httpx.Response, status: int, code: ErrorCode) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code.value, body
    return body
