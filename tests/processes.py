"""Processes as operators meet them: the `tether` command run as operators run it, and a child
process killed with SIGKILL once it reaches a marked point."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

SRC = Path(__file__).resolve().parents[1] / "src"


def env_for(url: str, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TETHER_")}
    env["PYTHONPATH"] = str(SRC)
    env["TETHER_DATABASE_URL"] = url
    env["TETHER_HOME"] = str(home)
    return env


def tether(url: str, home: Path, *args: str, cwd: Path | None = None) -> tuple[int, Any]:
    """`tether ARGS --json` on the store at `url`: its exit code and its JSON output."""
    done = subprocess.run(
        [sys.executable, "-c", "from tether.cli import main; main()", *args, "--json"],
        env=env_for(url, home),
        cwd=cwd or home.parent,
        capture_output=True,
        text=True,
        timeout=60,
    )
    try:
        out = json.loads(done.stdout)
    except ValueError:
        out = {"stdout": done.stdout, "stderr": done.stderr[-2000:]}
    return done.returncode, out


def kill_at_marker(argv: list[str], url: str, home: Path, marker: Path) -> None:
    """Start `python ARGV`, wait (at most 30 s) until it creates `marker`, then SIGKILL it."""
    child = subprocess.Popen([sys.executable, *argv], env=env_for(url, home), cwd=home.parent)
    try:
        deadline = time.monotonic() + 30
        while not marker.exists():
            if child.poll() is not None:
                raise AssertionError(f"the child ended ({child.returncode}) before its marker")
            if time.monotonic() > deadline:
                raise AssertionError("the child never reached its marker")
            time.sleep(0.02)
    finally:
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
