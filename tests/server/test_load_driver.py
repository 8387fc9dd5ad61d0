"""The load driver (`benchmarks/load.py`) against a real server: what it reports is what the
store holds, and a marker with two runs counts as duplicated."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

DRIVER = Path(__file__).parents[2] / "benchmarks" / "load.py"


def run_async(coroutine: Any) -> Any:
    """Run `coroutine` on a thread of its own: a browser test earlier in the session may have
    left an event loop running on this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


@pytest.fixture(scope="module")
def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("tether_load_driver", DRIVER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_every_accepted_run_completes_once(
    load: ModuleType, served: tuple[str, dict[str, str]]
) -> None:
    url, headers = served
    key = headers["Authorization"].removeprefix("Bearer ")
    result = run_async(load.drive([url, url], key, 12, 4, principals=3))
    assert (result["runs"], result["accepted"], result["completed"]) == (12, 12, 12)
    assert (result["lost"], result["duplicated"], result["errors_by_status"]) == (0, 0, {})
    assert result["decisions"] == {"answer": 12}
    assert 0 < result["p50_ms"] <= result["p99_ms"]
    assert result["runs_per_s"] > 0


def test_two_runs_with_one_marker_are_found(
    load: ModuleType, served: tuple[str, dict[str, str]], client: httpx.Client
) -> None:
    (job,) = load.make_jobs(uuid.uuid4().hex[:8], 1, 1)
    since = time.time() - 1
    for _ in range(2):  # two keys, one marker: what a driver or server bug would leave
        assert client.post("/v1/runs?wait=30", json=job.body).status_code == 200

    async def read() -> dict[str, list[dict[str, object]]]:
        async with httpx.AsyncClient(base_url=served[0], headers=served[1]) as c:
            found: dict[str, list[dict[str, object]]] = await load.read_back(c, since, {job.marker})
            return found

    found = run_async(read())
    assert list(found) == [job.marker] and len(found[job.marker]) == 2


@pytest.mark.parametrize("url", ["http://10.0.0.1:8000", "http://example.com", "http://[::2]/"])
def test_only_loopback_is_loaded(load: ModuleType, url: str) -> None:
    with pytest.raises(SystemExit, match="only loopback"):
        load.loopback_only(url)
    assert load.loopback_only("http://127.0.0.1:8000/") == "http://127.0.0.1:8000"
