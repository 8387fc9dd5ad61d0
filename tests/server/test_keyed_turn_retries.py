"""A conversation message sent with an `Idempotency-Key` to a `tether serve` that is
killed (SIGKILL) while the turn runs. Its claim of the key lapses; the turn itself is finished
by the next process's recovery. The client's retry with the same key and the same body must
not start a second turn: a run started under a key is named by it, and a retry carries it on.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from tests.workers.test_kill_workers import SlowModel, free_port, held, prepare, running, stop
from tether.conversations import ConversationStore
from tether.store import RunStore
from tether.store.request_keys import CLAIM_TTL_S, request_keys

TETHER = str(Path(sys.executable).parent / "tether")
WAIT_S = 25.0
REPLY = "Is there anything else I can help with?"
USER = "raj_sanchez_2970"


@pytest.fixture
def base_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """What every process of the test shares: its home (audit key) and one-second leases."""
    home = os.environ.get("TETHER_HOME") or str(tmp_path / "home")
    monkeypatch.setenv("TETHER_HOME", home)
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("TETHER_", "OTEL_"))}
    return {**keep, "TETHER_HOME": home, "TETHER_RUN_LEASE_SECONDS": "1", "PYTHONUNBUFFERED": "1"}


@pytest.fixture
def model() -> Iterator[SlowModel]:
    slow = SlowModel(REPLY)
    thread = threading.Thread(target=slow.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield slow
    finally:
        slow.release.set()
        slow.server.shutdown()
        slow.server.server_close()


def serve(env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    process = subprocess.Popen(
        [TETHER, "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + WAIT_S
    while True:
        assert process.poll() is None, process.communicate()[1]
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return process, base
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "the server never became ready"
        time.sleep(0.1)


def admin_key(env: dict[str, str]) -> str:
    made = subprocess.run(
        [TETHER, "keys", "create", "--role", "admin", "--name", "tests", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=WAIT_S,
        check=True,
    )
    return str(json.loads(made.stdout)["key"])


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_retried_turn_after_its_server_died_is_not_taken_twice(
    backend: str, request: pytest.FixtureRequest, base_env: dict[str, str], model: SlowModel
) -> None:
    url: str = request.getfixturevalue("pg_url" if backend == "postgresql" else "sqlite_url")
    prepare(url)
    env = {
        **base_env,
        "TETHER_DATABASE_URL": url,
        "TETHER_MODEL": "openai:slow",
        "TETHER_OPENAI_BASE_URL": model.base_url,
    }
    key = admin_key(env)
    auth = {"Authorization": f"Bearer {key}"}
    body = {"text": "Hi, can you help me with an order?"}
    keyed = {**auth, "Idempotency-Key": "turn-1"}

    first, base = serve(env)
    try:
        with httpx.Client(base_url=base, headers=auth, timeout=WAIT_S) as c:
            started = c.post("/v1/conversations", json={"principal": USER})
        assert started.status_code == 201, started.text
        conversation = started.json()["id"]

        def send() -> None:  # the first attempt: its server dies under it
            with contextlib.suppress(httpx.HTTPError):
                httpx.post(
                    f"{base}/v1/conversations/{conversation}/messages?wait=20",
                    json=body,
                    headers=keyed,
                    timeout=WAIT_S,
                )

        sender = threading.Thread(target=send)
        sender.start()
        deadline = time.monotonic() + WAIT_S
        while not model.requests:  # the turn's run asks the model: the turn is under way
            assert time.monotonic() < deadline, "the turn never reached its model"
            time.sleep(0.02)
        os.kill(first.pid, signal.SIGKILL)
        first.communicate()
        sender.join(WAIT_S)
    finally:
        stop(first)
    model.release.set()

    store = RunStore.open(url)
    with store.engine.begin() as conn:  # the dead request's claim of its key lapses
        conn.execute(update(request_keys).values(claimed_at=time.time() - CLAIM_TTL_S - 1))
    second, base = serve(env)
    try:
        deadline = time.monotonic() + WAIT_S
        while running(store) or held(store):  # the next process recovers the turn
            assert time.monotonic() < deadline, (running(store), held(store))
            time.sleep(0.1)
        with httpx.Client(base_url=base, timeout=WAIT_S) as c:
            retried = c.post(
                f"/v1/conversations/{conversation}/messages?wait=20", json=body, headers=keyed
            )
    finally:
        stop(second)
    record = ConversationStore(store.engine).get(conversation)
    turns = [t.run_id for t in ConversationStore(store.engine).turns(conversation)]
    runs_ = [r.id for r in store.list_runs(limit=100)]
    store.close()
    # the retry answers for the turn its key started; the conversation took it once
    assert (record.turns, len(runs_)) == (1, 1), (retried.status_code, turns, runs_)
    assert retried.json().get("run_id") == turns[0], retried.text
