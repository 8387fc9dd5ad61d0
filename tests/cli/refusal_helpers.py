"""Run the real `tether` command against a given store, from a scratch folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

SRC = Path(__file__).resolve().parents[2] / "src"


def tether(
    *args: str, url: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    environ = {
        k: v for k, v in os.environ.items() if not k.startswith("TETHER_") or k == "TETHER_HOME"
    }
    environ.update(
        {
            "TETHER_DATABASE_URL": url,
            "PYTHONPATH": str(SRC),
            "TETHER_HOME": str(cwd / "home"),
        }
    )
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-c", "from tether.cli.app import main; main()", *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def error_of(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The `{"error": {...}}` a --json command printed."""
    assert "Traceback" not in done.stderr, done.stderr
    return json.loads(done.stdout)["error"]


def start_server(
    url: str, cwd: Path, env: dict[str, str] | None = None, wait_s: float = 60
) -> tuple[bool, int | None, str]:
    """Start `tether serve`; (whether it answered /readyz 200, its exit code, its stderr). A
    server that started is stopped again."""
    import socket
    import time

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TETHER_")}
    environ.update(
        {"TETHER_DATABASE_URL": url, "TETHER_HOME": str(cwd / "home"), "PYTHONPATH": str(SRC)}
    )
    environ.update(env or {})
    server = subprocess.Popen(
        [sys.executable, "-c", "from tether.cli.app import main; main()",
         "serve", "--port", str(port)],
        cwd=cwd, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    served = False
    try:
        deadline = time.monotonic() + wait_s
        while server.poll() is None and time.monotonic() < deadline and not served:
            try:
                served = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200
            except httpx.HTTPError:
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
    return served, server.returncode, stderr
