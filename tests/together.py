"""Start several Python processes so that they do the same thing at the same moment.

Each child imports what it needs, says it is ready and waits; once all are ready they are let go
together, which is how replicas of a deployment meet a fresh database.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
READY = "ready"


def run_together(setup: str, action: str, argv: list[str], count: int) -> list[tuple[int, str]]:
    """Run `count` children doing `setup`, then (all at once) `action`; (exit code, stderr) each."""
    code = f"import sys\n{setup}\nprint({READY!r}, flush=True)\nsys.stdin.readline()\n{action}\n"
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, *argv],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    for proc in procs:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line == READY, proc.communicate()[1]
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    return [(proc.wait(timeout=90), proc.communicate()[1]) for proc in procs]


def failures(results: list[tuple[int, str]]) -> list[str]:
    """The error of each child that failed: the last line of its traceback that says what went
    wrong (SQLAlchemy ends its errors with a line linking to its docs, and the SQL it ran)."""
    out = []
    for code, err in results:
        if code == 0:
            continue
        said = [line for line in err.strip().splitlines() if not line.startswith(_NOISE)]
        errors = [line for line in said if _ERROR_LINE.match(line)]
        out.append((errors or said or [""])[-1])
    return out


_NOISE = ("(Background on this error", "[SQL:", "[parameters:")
_ERROR_LINE = re.compile(r"^[\w.]+(?:Error|Exception|Warning)\b|^[\w.]+: ")
