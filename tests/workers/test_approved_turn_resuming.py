"""A conversation turn that waited for an approval, whose approving process is killed
with SIGKILL while it resumes the run (right after the approved call ran, before it was
recorded). Until a recovery finishes that run, the conversation is still in that turn: a message
is refused as busy, and the approved call's outcome and the model's reply belong to the
conversation before anything the next turn adds.

Real processes: the turn suspends in one (killed), is approved in another (killed mid-resume),
the next customer message goes to a real `tether serve`, a third process finishes the run, and
the message sent again is taken.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from tests.server.conversation_site import ANYTHING_ELSE_SCRIPT
from tests.server.test_keyed_turn_retries import admin_key, base_env, serve  # noqa: F401
from tests.workers.test_kill_workers import effects, prepare, stop
from tether.conversations import ConversationStore
from tether.core.types import RunStatus, StepKind
from tether.store import RunStore
from tether.store.schema import runs

CHILD = Path(__file__).parents[1] / "approvals" / "kill_child.py"
TETHER = str(Path(sys.executable).parent / "tether")
ORDER = "#W1067251"
WAIT_S = 25.0


def child(env: dict[str, str], *args: str, lease: str = "1") -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(CHILD), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**env, "TETHER_RUN_LEASE_SECONDS": lease},
    )


def kill_when_reached(process: subprocess.Popen[str], marker: Path) -> str:
    deadline = time.monotonic() + WAIT_S
    while not marker.exists() or not marker.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            _, err = process.communicate()
            pytest.fail(f"the child never reached {marker.name}: rc={process.returncode}\n{err}")
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.communicate()
    return marker.read_text()


def serve_with_key(env: dict[str, str], url: str) -> tuple[subprocess.Popen[str], str, str]:
    """A `tether serve` replica whose own leases last 30 s (its sweeps come every 15 s), and an
    admin key."""
    env = {**env, "TETHER_DATABASE_URL": url}
    key = admin_key(env)
    process, base = serve({**env, "TETHER_RUN_LEASE_SECONDS": "30"})
    return process, base, key


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_turn_sent_while_an_approved_turn_is_unfinished_does_not_lose_it(
    backend: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    base_env: dict[str, str],  # noqa: F811
) -> None:
    url: str = request.getfixturevalue("pg_url" if backend == "postgresql" else "sqlite_url")
    env = {**base_env, "TETHER_DATABASE_URL": url}
    prepare(url)
    marker = tmp_path / "suspended"
    ids = json.loads(kill_when_reached(child(env, "suspend", url, str(marker)), marker))
    store = RunStore.open(url)
    run = store.get_run(ids["run"], with_steps=False)
    conversation = run.input["metadata"]["conversation"]
    assert run.status is RunStatus.SUSPENDED
    # approved; the approving process dies right after the approved return ran (its lease, of
    # a longer lifetime here, is still live while the next message arrives)
    marker = tmp_path / "after_call"
    approving = child(
        env, "approve", url, ids["approval"], "operator:sam", "after_call", str(marker), lease="30"
    )
    kill_when_reached(approving, marker)
    assert store.get_run(ids["run"], with_steps=False).status is RunStatus.RUNNING
    assert effects(store) == [ORDER]  # the return was made; nothing of it is recorded yet

    server, base, key = serve_with_key(env, url)
    try:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}) as c:
            sent = c.post(
                f"/v1/conversations/{conversation}/messages?wait=10",
                json={"text": "Hello? Did that go through?", "script": ANYTHING_ELSE_SCRIPT},
                timeout=WAIT_S,
            )
            verdict = (sent.status_code, sent.json().get("code"))

            # time passes: the dead process's lease lapses and any process finishes the run
            with store.engine.begin() as conn:
                conn.execute(
                    update(runs).where(runs.c.id == ids["run"]).values(lease_expires_at=0.0)
                )
            resumed = child(env, "resume", url, ids["approval"])
            _, err = resumed.communicate(timeout=WAIT_S)
            assert resumed.returncode == 0, err
            # the run ended: the message sent again is taken, after what the run did
            again = c.post(
                f"/v1/conversations/{conversation}/messages?wait=10",
                json={"text": "Hello? Did that go through?", "script": ANYTHING_ELSE_SCRIPT},
                timeout=WAIT_S,
            )
            assert again.status_code == 200, again.text
    finally:
        stop(server)

    ended = store.get_run(ids["run"])
    assert ended.status is RunStatus.COMPLETED and ended.decision is not None
    assert [s.kind for s in ended.steps].count(StepKind.DECISION) == 1
    assert effects(store) == [ORDER]

    record = ConversationStore(store.engine).get(conversation)
    said = [str(m.get("content")) for m in record.state["messages"]]
    store.close()
    # the first message was refused while the approved turn was under way (one turn at a
    # time), and what that turn did (its return, its reply) is part of the conversation the
    # next one continues, not "not run"
    told = ended.decision.text in said
    not_run = any('"NOT_RUN"' in m for m in said)
    assert (verdict, told, not_run) == ((409, "CONVERSATION_BUSY"), True, False), said[-5:]
