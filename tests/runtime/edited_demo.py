"""The demo's runs, recorded by the real `tether demo` on a real store, for tests that edit one
step of one run in the store and ask the real `tether replay RUN --json` about it."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tether.core.types import Run
from tether.store.runs import RunStore


def tether(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from tether.cli import main; main()", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture
def demo(store_url: str, tmp_path: Path) -> tuple[dict[str, str], Path, list[Run]]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("TETHER_", "OTEL_"))}
    env = {**keep, "TETHER_HOME": str(tmp_path / "home"), "TETHER_DATABASE_URL": store_url}
    done = tether(env, tmp_path, "demo", "--no-serve", "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    store = RunStore.open(store_url)
    try:
        runs = [store.get_run(r.id) for r in store.list_runs(limit=500)]
    finally:
        store.close()
    every = tether(env, tmp_path, "replay", "--all", "--since", "1d", "--json")
    assert every.returncode == 0, every.stdout  # unedited, every run replays identical
    return env, tmp_path, runs


def shape(run: Run) -> list[str]:
    return [f"{s.kind.value}:{s.name}" for s in run.steps]


def edit(url: str, run: Run, seq: int, change: Callable[[dict[str, Any]], None]) -> None:
    data = json.loads(json.dumps(run.steps[seq - 1].data))
    change(data)
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE steps SET data = :data WHERE run_id = :run AND seq = :seq"),
                {"data": json.dumps(data), "run": run.id, "seq": seq},
            )
    finally:
        engine.dispose()


def replay(env: dict[str, str], cwd: Path, run_id: str) -> tuple[int, dict[str, Any]]:
    done = tether(env, cwd, "replay", run_id, "--json")
    return done.returncode, json.loads(done.stdout)


def with_step(run: Run, seq: int, data: dict[str, Any]) -> Run:
    """`run` with step `seq`'s data replaced, in memory."""
    steps = tuple(dataclasses.replace(s, data=data) if s.seq == seq else s for s in run.steps)
    return dataclasses.replace(run, steps=steps)


def assert_edit_diverges(
    env: dict[str, str],
    cwd: Path,
    url: str,
    run: Run,
    seq: int,
    change: Callable[[dict[str, Any]], None],
) -> None:
    """Edit step `seq` of `run` in the store; `tether replay` must then report it not
    identical (exit 1)."""
    edit(url, run, seq, change)
    code, report = replay(env, cwd, run.id)
    assert report["identical"] is False, report
    assert code == 1
