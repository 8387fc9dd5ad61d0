"""A server whose model is misconfigured refuses to start: CONFIG_INVALID naming the variable,
exit 2, before it serves (not a healthy-looking replica whose every run fails)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.cli.refusal_helpers import SRC


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"TETHER_MODEL": "opnai:gpt-4o-mini"}, "TETHER_MODEL"),
        ({"TETHER_MODEL": "openai:gpt-4o-mini", "TETHER_MODEL_TIMEOUT": "abc"},
         "TETHER_MODEL_TIMEOUT"),
    ],
)  # fmt: skip
def test_a_server_with_a_bad_model_setting_refuses_to_start(
    sqlite_url: str, tmp_path: Path, settings: dict[str, str], named: str
) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TETHER_")}
    env.update(
        {"TETHER_DATABASE_URL": sqlite_url, "TETHER_HOME": str(tmp_path / "home"),
         "PYTHONPATH": str(SRC), **settings}
    )  # fmt: skip
    server = subprocess.Popen(
        [sys.executable, "-c", "from tether.cli.app import main; main()",
         "serve", "--port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    served = False
    try:
        deadline = time.monotonic() + 60
        while server.poll() is None and time.monotonic() < deadline:
            try:
                served = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200
            except httpx.HTTPError:
                served = False
            if served:
                break
            time.sleep(0.3)
    finally:
        if server.poll() is None:
            server.send_signal(2)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        _, stderr = server.communicate()

    assert not served, f"the server started and answered ready with {settings}"
    assert server.returncode == 2
    assert "CONFIG_INVALID" in stderr and named in stderr, stderr[-500:]
