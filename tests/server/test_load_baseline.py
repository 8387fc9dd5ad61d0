"""`benchmarks/load_deploy.py --baseline REV`: an older revision's SQLite server, exported by git
and started for real, is loaded by the same driver, and the ratios compare like with like."""

from __future__ import annotations

import asyncio
import importlib.util
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCHMARKS = Path(__file__).parents[2] / "benchmarks"
REPO = BENCHMARKS.parent
# the last revision that ran each run inside its request (201 with the run, no /readyz)
SYNCHRONOUS = "39a424a"


def _has(revision: str) -> bool:
    found = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}"],
        capture_output=True,
        check=False,
    )
    return found.returncode == 0


@pytest.fixture(scope="module")
def deploy() -> ModuleType:
    sys.path.insert(0, str(BENCHMARKS))  # it imports the driver as `load`
    try:
        spec = importlib.util.spec_from_file_location(
            "tether_load_deploy", BENCHMARKS / "load_deploy.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCHMARKS))


def test_ratios_pair_each_level_with_the_baseline_at_the_same_level(deploy: ModuleType) -> None:
    rows = [
        {"topology": "sqlite", "concurrency": 1, "runs_per_s": 150.0, "p50_ms": 6.0},
        {"topology": "sqlite@abc", "concurrency": 1, "runs_per_s": 100.0, "p50_ms": 8.0},
        {"topology": "sqlite", "concurrency": 8, "runs_per_s": 120.0, "p50_ms": 40.0},
        {"topology": "sqlite@abc", "concurrency": 8, "runs_per_s": 60.0, "p50_ms": 80.0},
        {"topology": "sqlite", "concurrency": 32, "runs_per_s": 90.0, "p50_ms": 300.0},
    ]  # no baseline at 32: no ratio is made up for it
    assert deploy.ratios(rows, "sqlite", "sqlite@abc") == [
        {"concurrency": 1, "runs_per_s": 1.5, "p50_ms": 0.75},
        {"concurrency": 8, "runs_per_s": 2.0, "p50_ms": 0.5},
    ]


def test_an_unknown_revision_stops_with_its_name(deploy: ModuleType) -> None:
    if not _has("HEAD"):
        pytest.skip("not a git checkout: there are no revisions to export")
    with pytest.raises(SystemExit) as stopped, deploy.revision_source("no-such-revision-here"):
        pass
    assert "--baseline no-such-revision-here" in str(stopped.value)


def test_an_older_revision_is_served_and_loaded_like_the_current_one(deploy: ModuleType) -> None:
    if not _has(SYNCHRONOUS):
        pytest.skip(f"revision {SYNCHRONOUS} is not in this clone (a shallow one?)")
    with deploy.revision_source(SYNCHRONOUS) as (source, short):
        assert (Path(source) / "tether" / "__init__.py").is_file()
        assert SYNCHRONOUS.startswith(short) or short.startswith(SYNCHRONOUS)
        with deploy.sqlite_deployment(f"sqlite@{short}", source) as served:
            result = _drive(deploy, served, runs=4, concurrency=2)
            served.check_alive()
            logged = served.log_findings()
    # that server answers 201 with the decided run: the driver counts it decided, and the
    # store, read back, holds each run once
    assert result["completed"] == result["accepted"] == 4, result
    assert result["lost"] == result["duplicated"] == 0
    assert result["decisions"] == {"answer": 4}
    assert logged == {"http_5xx": 0, "tracebacks": 0}


def _drive(deploy: ModuleType, served: Any, runs: int, concurrency: int) -> dict[str, Any]:
    """The driver on a thread of its own (a browser test may have left a loop on this one)."""
    with ThreadPoolExecutor(1) as pool:
        work = deploy.drive(served.urls, served.key, runs, concurrency, grace_s=10.0)
        return pool.submit(asyncio.run, work).result()  # type: ignore[no-any-return]
