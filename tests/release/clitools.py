"""Run the real `tether` command line against a store in a temporary folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

SRC = str(Path(__file__).resolve().parents[2] / "src")


def cli_env(tmp: Path, url: str | None = None) -> dict[str, str]:
    """The environment of a `tether` command whose home is under `tmp` and whose store is `url`
    (by default a SQLite file beside it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TETHER_", "OTEL_"))}
    env["PYTHONPATH"] = SRC
    env["TETHER_HOME"] = str(tmp / "home")
    env["TETHER_DATABASE_URL"] = url or f"sqlite:///{tmp / 'tether.db'}"
    return env


def tether(
    tmp: Path, *args: str, url: str | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    code = "import sys; from tether.cli import main; sys.argv[0] = 'tether'; sys.exit(main())"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        env=cli_env(tmp, url),
        cwd=tmp,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def tether_json(tmp: Path, *args: str, url: str | None = None) -> tuple[int, Any]:
    """The exit code and JSON output of `tether ARGS --json`."""
    done = tether(tmp, *args, "--json", url=url)
    try:
        return done.returncode, json.loads(done.stdout)
    except json.JSONDecodeError as exc:
        shown = f"not JSON (exit {done.returncode}): {done.stdout!r} {done.stderr!r}"
        raise AssertionError(shown) from exc
