"""Two `tether serve` processes sharing one SQLite file, as replicas behind a proxy: each takes
runs and executes them on its own workers, and either answers for a run the other accepted.

Both are real processes started together on a fresh home. The load driver spreads runs over
them and reads the store back (none lost, none duplicated); a retried request with the same
`Idempotency-Key` sent to the other replica gets the first one's run; a run is followed to its
Decision and read through the replica that did not execute it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from tether.core.types import RunStatus
from tether.store.runs import RunStore

from .conftest import ORDER_SCRIPT, order_run_body
from .test_load_driver import load, run_async  # noqa: F401 - `load` is a fixture

TETHER = str(Path(sys.executable).parent / "tether")
START_S = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def replicas(tmp_path: Path) -> Iterator[tuple[list[str], str, str]]:
    """Two replicas started at once on a fresh home; their URLs, an admin key, the store URL."""
    home = tmp_path / "home"
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("TETHER_", "OTEL_"))}
    env = {**keep, "TETHER_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    ports = [free_port(), free_port()]
    logs = [tmp_path / f"replica-{i}.log" for i in range(2)]
    processes = []
    for port, log in zip(ports, logs, strict=True):
        with log.open("wb") as out:
            processes.append(
                subprocess.Popen(
                    [TETHER, "serve", "--port", str(port)],
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    cwd=tmp_path,
                )
            )
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for url, process, log in zip(urls, processes, logs, strict=True):
            wait_ready(url, process, log)
        made = subprocess.run(
            [TETHER, "keys", "create", "--role", "admin", "--name", "replicas", "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=START_S,
            check=True,
        )
        yield urls, json.loads(made.stdout)["key"], f"sqlite:///{home / 'tether.db'}"
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    text = "".join(log.read_text(errors="replace") for log in logs)
    assert "Traceback" not in text
    assert text.count("created the first admin API key") == 1  # made by one replica only


def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text(errors="replace")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} was not ready within {START_S:g} s")


def test_runs_spread_over_two_replicas_each_complete_once(
    load: ModuleType,  # noqa: F811 - the fixture imported above
    replicas: tuple[list[str], str, str],
) -> None:
    urls, key, store_url = replicas
    result = run_async(load.drive(urls, key, 40, 8, principals=4))

    assert (result["runs"], result["accepted"], result["completed"]) == (40, 40, 40)
    assert (result["lost"], result["duplicated"], result["errors_by_status"]) == (0, 0, {})
    store = RunStore.open(store_url)
    try:
        listed = store.list_runs(limit=100)
        assert len(listed) == 40
        assert {r.status for r in listed} == {RunStatus.COMPLETED}
    finally:
        store.close()


def test_either_replica_answers_for_a_run_the_other_accepted(
    replicas: tuple[list[str], str, str],
) -> None:
    (first, second), key, _ = replicas
    auth = {"Authorization": f"Bearer {key}"}
    body = order_run_body(script=ORDER_SCRIPT)
    retry = {**auth, "Idempotency-Key": uuid.uuid4().hex}
    with httpx.Client(base_url=first, timeout=30) as a, httpx.Client(base_url=second) as b:
        accepted = a.post("/v1/runs", json=body, headers=retry)
        assert accepted.status_code == 202, accepted.text
        run_id = accepted.json()["id"]

        # the same request retried against the other replica is the same run, not a second one
        again = b.post("/v1/runs", json=body, headers=retry, timeout=30)
        assert again.status_code == 202 and again.json()["id"] == run_id, again.text

        # followed through the replica that does not execute it, which reads the store
        with b.stream("GET", f"/v1/runs/{run_id}/events", headers=auth, timeout=30) as events:
            assert events.status_code == 200
            kinds = [
                line.removeprefix("event: ")
                for line in events.iter_lines()
                if line.startswith("event: ")
            ]
        read = b.get(f"/v1/runs/{run_id}", headers=auth)
        assert read.status_code == 200 and read.json()["decision"]["kind"] == "answer", read.text
    assert kinds[-1] == "decision" and "step" in kinds
