"""The access log of a real `tether serve` must not carry a customer's e-mail address.

README, *Redaction*: logs (`tether serve`) mask e-mail addresses. uvicorn writes the request
line percent-encoded (it quotes the path itself, so an `@` a client sends raw becomes `%40`):
the redactor masks what a URL's words decode to, not only their literal text.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.processes import env_for

EMAIL_LOCAL = "raj.sanchez2046"
EMAIL = f"{EMAIL_LOCAL}@example.com"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(path: Path, needle: str, child: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + 25
    while time.monotonic() < deadline:
        text = path.read_text(errors="replace") if path.exists() else ""
        if needle in text:
            return text
        assert child.poll() is None, text[-2000:]
        time.sleep(0.05)
    raise AssertionError(f"never saw {needle!r}")


def test_access_log_masks_percent_encoded_email(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    log = tmp_path / "serve.log"
    port = _free_port()
    env = env_for(f"sqlite:///{tmp_path / 't.db'}", home)
    env["TETHER_DRIFT_EVERY_S"] = "0"
    env["TETHER_KPI_EVERY_S"] = "0"
    with log.open("wb") as out:
        child = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from tether.cli import main; main()",
                "serve",
                "--port",
                str(port),
            ],
            env=env,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        text = _wait_for(log, "Uvicorn running", child)
        key = re.search(r"tk_[0-9a-f]{16}\.[A-Za-z0-9_-]{43}", text)
        assert key is not None, text
        headers = {"Authorization": f"Bearer {key.group(0)}"}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers) as client:
            # an operator looks a customer's runs up by e-mail, once raw, once encoded
            client.get(f"/v1/runs/{EMAIL}")
            client.get("/v1/runs", params={"principal": EMAIL})
            client.get("/healthz")
        _wait_for(log, "GET /healthz", child)
    finally:
        if child.poll() is None:
            os.kill(child.pid, signal.SIGTERM)
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(child.pid, signal.SIGKILL)
            child.wait(timeout=5)
    access = [line for line in log.read_text(errors="replace").splitlines() if "GET /v1" in line]
    assert len(access) == 2, access
    leaked = [line for line in access if EMAIL_LOCAL in line]
    assert not leaked, f"the customer's e-mail address is in the access log: {leaked}"
    assert all("[redacted:email]" in line for line in access), access
