"""Load a running tether deployment with scripted retail runs, then check the store.

    python benchmarks/load.py --url http://127.0.0.1:8000 --key tk_... --runs 200 \
        --concurrency 8 --json

Each run is `POST /v1/runs?wait=60` with its own `Idempotency-Key` and a marker `load-<batch>-<n>`
in its input; a `202` is followed on the run's events stream until its decision (a `201`, from a
server that runs each run inside its request, carries the decision already). Latency is
from the POST to the decision. Afterwards the runs are read back from the store (over the API,
`GET /v1/runs`), so a run that was accepted but never ended (lost) or a marker that produced more
than one run (duplicated) shows up whatever the responses said. Only loopback URLs are loaded,
and both the number of runs and the wall time are bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from tether.domains.retail.db import packaged_data

WAIT_S = 60  # the most the API holds a POST for the decision
MAX_RUNS = 1_000_000
ATTEMPTS = 20  # a run's POST is retried (same key) this often on 429, 409, 5xx or no answer
READ_PAGE = 200


@dataclass(frozen=True)
class Job:
    """One run to start: its marker, principal, body and idempotency key."""

    marker: str
    key: str
    body: dict[str, Any]


@dataclass
class Tally:
    """What the driver saw, filled in by the concurrent senders."""

    attempted: set[str] = field(default_factory=set)  # markers whose POST was sent
    accepted: dict[str, str] = field(default_factory=dict)  # marker -> run id
    decided: set[str] = field(default_factory=set)  # markers whose decision the driver saw
    latencies_ms: list[float] = field(default_factory=list)
    errors_by_status: Counter[str] = field(default_factory=Counter)
    errors_by_code: Counter[str] = field(default_factory=Counter)  # the problem's stable code
    gave_up: int = 0


def loopback_only(url: str) -> str:
    """The URL without a trailing slash; anything but a loopback host is refused."""
    host = urlsplit(url).hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise SystemExit(f"refusing to load {url!r}: only loopback addresses are loaded")
    return url.rstrip("/")


def retail_scripts(count: int) -> list[tuple[str, list[dict[str, Any]]]]:
    """`count` customers with an order each, and a scripted two-lookup run answering its status,
    so no principal's quota of runs in flight is the bottleneck."""
    data = packaged_data()
    found: list[tuple[str, list[dict[str, Any]]]] = []
    for user_id in sorted(data["users"]):
        user = data["users"][user_id]
        if not user.get("orders"):
            continue
        order = data["orders"][user["orders"][0]]
        script: list[dict[str, Any]] = [
            {"tool": "find_user_id_by_email", "args": {"email": user["email"]}},
            {"tool": "get_order_details", "args": {"order_id": order["order_id"]}},
            {"answer": f"Order {order['order_id']} is {order['status']} [tool:2]."},
        ]
        found.append((user_id, script))
        if len(found) == count:
            break
    return found


def make_jobs(batch: str, runs: int, principals: int) -> Iterator[Job]:
    """The runs to start, made as they are taken (a soak may ask for very many)."""
    scripts = retail_scripts(principals)
    for n in range(runs):
        principal, script = scripts[n % len(scripts)]
        marker = f"load-{batch}-{n}"
        text = f"What is the status of my order? ({marker})"
        body = {"principal": principal, "input": text, "script": script}
        yield Job(marker, f"{marker}-{uuid.uuid4().hex[:8]}", body)


async def follow(client: httpx.AsyncClient, run_id: str, deadline: float) -> bool:
    """Read the run's events until its decision; False if the stream ends or time runs out."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        return False
    try:
        async with asyncio.timeout(remaining):
            async with client.stream("GET", f"/v1/runs/{run_id}/events") as response:
                if response.status_code != 200:
                    return False
                async for line in response.aiter_lines():
                    if line.strip() == "event: decision":
                        return True
    except (TimeoutError, httpx.HTTPError):
        return False
    return False


def problem_code(response: httpx.Response) -> str:
    """The stable code of a problem response (`status` when it carries none)."""
    try:
        code = response.json().get("code")
    except (ValueError, AttributeError):
        code = None
    return str(code) if code else str(response.status_code)


async def start_one(
    clients: list[httpx.AsyncClient], job: Job, tally: Tally, deadline: float
) -> None:
    """POST the run (retrying with the same key while that is safe) and wait for its decision."""
    began = time.monotonic()
    tally.attempted.add(job.marker)
    for attempt in range(ATTEMPTS):
        client = clients[(hash(job.key) + attempt) % len(clients)]
        if time.monotonic() > deadline:
            break
        try:
            response = await client.post(
                f"/v1/runs?wait={WAIT_S}", json=job.body, headers={"Idempotency-Key": job.key}
            )
        except httpx.HTTPError as exc:
            tally.errors_by_status[type(exc).__name__] += 1
            await asyncio.sleep(0.2 * (attempt + 1))
            continue
        if response.status_code in (200, 201, 202):
            run = response.json()
            tally.accepted[job.marker] = run["id"]
            done = response.status_code != 202 or await follow(client, run["id"], deadline)
            if done:
                tally.decided.add(job.marker)
                tally.latencies_ms.append((time.monotonic() - began) * 1000)
            return
        tally.errors_by_status[str(response.status_code)] += 1
        tally.errors_by_code[problem_code(response)] += 1
        if response.status_code not in (409, 429) and response.status_code < 500:
            return  # the request itself is wrong: retrying cannot help
        pause = float(response.headers.get("Retry-After", "0") or 0)
        await asyncio.sleep(max(pause, 0.05 * (attempt + 1)) * random.uniform(0.5, 1.0))
    tally.gave_up += 1


async def read_back(client: httpx.AsyncClient, since: float, markers: set[str]) -> dict[str, Any]:
    """The store's runs created since `since` that carry one of `markers`, by marker."""
    found: dict[str, list[dict[str, Any]]] = {}
    offset = 0
    while True:
        response = await client.get(
            "/v1/runs", params={"since": since, "limit": READ_PAGE, "offset": offset}
        )
        response.raise_for_status()
        page = response.json()["runs"]
        for run in page:
            marker = _marker_of(run, markers)
            if marker is not None:
                found.setdefault(marker, []).append(run)
        if len(page) < READ_PAGE:
            return found
        offset += READ_PAGE


def _marker_of(run: dict[str, Any], markers: set[str]) -> str | None:
    for message in run["input"].get("messages", []):
        text = str(message.get("content", ""))
        start = text.rfind("(load-")
        if start >= 0:
            marker = text[start + 1 : text.find(")", start)]
            return marker if marker in markers else None
    return None


async def settle(
    client: httpx.AsyncClient, since: float, markers: set[str], grace_s: float
) -> dict[str, list[dict[str, Any]]]:
    """Read the store until every run found has ended, or `grace_s` passes."""
    stop = time.monotonic() + grace_s
    while True:
        found = await read_back(client, since, markers)
        ended = all(r["status"] == "completed" for runs in found.values() for r in runs)
        if ended or time.monotonic() > stop:
            return found
        await asyncio.sleep(0.5)


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 1)


async def drive(
    urls: list[str],
    key: str,
    runs: int,
    concurrency: int,
    *,
    principals: int = 16,
    max_seconds: float = 600.0,
    grace_s: float = 30.0,
) -> dict[str, Any]:
    """Start `runs` runs, `concurrency` at a time, spread over `urls`; then check the store."""
    batch = uuid.uuid4().hex[:8]
    tally = Tally()
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=concurrency * 2 + 4)
    timeout = httpx.Timeout(WAIT_S + 15, connect=10)
    clients = [
        httpx.AsyncClient(base_url=u, headers=headers, timeout=timeout, limits=limits) for u in urls
    ]
    since = time.time() - 1
    began = time.monotonic()
    deadline = began + max_seconds
    pending = make_jobs(batch, runs, principals)

    async def sender() -> None:
        for job in pending:
            if time.monotonic() > deadline:
                return
            await start_one(clients, job, tally, deadline)

    try:
        await asyncio.gather(*(sender() for _ in range(concurrency)))
        wall = time.monotonic() - began
        found = await settle(clients[0], since, tally.attempted, grace_s)
    finally:
        for client in clients:
            await client.aclose()
    return summarise(runs, tally, found, wall)


def summarise(
    runs: int, tally: Tally, found: dict[str, list[dict[str, Any]]], wall: float
) -> dict[str, Any]:
    ended = {m for m, rs in found.items() if any(r["status"] == "completed" for r in rs)}
    completed = ended & set(tally.accepted)
    decisions = Counter(
        (r.get("decision") or {}).get("kind", "none") for rs in found.values() for r in rs
    )
    return {
        "runs": runs,
        "attempted": len(tally.attempted),
        "accepted": len(tally.accepted),
        "completed": len(completed),
        "lost": len(set(tally.accepted) - ended),
        "duplicated": sum(1 for rs in found.values() if len(rs) > 1),
        "unacknowledged": len(set(found) - set(tally.accepted)),  # stored, but never answered
        "gave_up": tally.gave_up,
        "errors_by_status": dict(sorted(tally.errors_by_status.items())),
        "errors_by_code": dict(sorted(tally.errors_by_code.items())),
        "decisions": dict(sorted(decisions.items())),
        "wall_s": round(wall, 2),
        "runs_per_s": round(len(completed) / wall, 1) if wall > 0 else 0.0,
        "p50_ms": percentile(tally.latencies_ms, 0.50),
        "p99_ms": percentile(tally.latencies_ms, 0.99),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--url", action="append", required=True, help="an API (repeatable)")
    parser.add_argument("--key", required=True, help="an operator key with runs:create")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--principals", type=int, default=16)
    parser.add_argument("--max-seconds", type=float, default=600.0)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    if not 1 <= args.runs <= MAX_RUNS or not 1 <= args.concurrency <= 1000:
        parser.error(f"--runs must be 1 to {MAX_RUNS} and --concurrency 1 to 1000")
    urls = [loopback_only(u) for u in args.url]
    result = asyncio.run(
        drive(
            urls,
            args.key,
            args.runs,
            args.concurrency,
            principals=args.principals,
            max_seconds=args.max_seconds,
        )
    )
    if args.json:
        print(json.dumps(result))
    else:
        for name, value in result.items():
            print(f"{name:>18}  {value}")
    return 0 if result["lost"] == 0 and result["duplicated"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
