"""Start a local deployment, load it with `benchmarks/load.py`, and stop it again.

Three topologies, each loaded at concurrency 1, 8 and 32:
- `sqlite`: one `tether serve` (API and its worker threads) over a fresh SQLite home;
- `sqlite-replicas`: two `tether serve` started together over one fresh SQLite home, the
  driver spreading requests over them (each executes the runs it accepts, on its own workers);
- `postgres`: a fresh schema in PostgreSQL (127.0.0.1:5432, database `test`) and Redis, two
  API-only `tether serve` processes (`TETHER_WORKERS=0`) the driver spreads requests over, and
  two `tether worker` processes that execute the runs from the PostgreSQL queue.
`--baseline REV` also starts the single-process SQLite topology of revision REV of this
repository (its `src` exported by git into a temporary folder, run on this environment) beside
each SQLite topology and loads the two level by level in turn, so the ratio of the two comes from
one sitting on one machine.
`--soak-seconds S` instead loads each topology at concurrency 8 for S seconds and reports how
the resident memory of every process grew. Every process, the schema, the Redis keys and the
temporary home are removed on any exit; every wait is bounded, and only loopback is used.

    python benchmarks/load_deploy.py [--topology sqlite|sqlite-replicas|postgres|both|all]
        [--runs 200]
        [--concurrency 1,8,32] [--baseline REV] [--soak-seconds 600] [--out .tether/load.json]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from load import MAX_RUNS, drive

TETHER = str(Path(sys.executable).parent / "tether")
REPO = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("TETHER_LOAD_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TETHER_LOAD_REDIS_URL", "redis://127.0.0.1:6379/0")
START_S = 60.0  # the longest a process may take to become ready
SAMPLE_S = 30.0  # how often the soak samples memory
console = Console(highlight=False, width=150)  # the table stays whole in logs too


@dataclass
class Deployment:
    """The processes of one topology, the URLs to load and a key that may start runs."""

    name: str
    urls: list[str] = field(default_factory=list)
    key: str = ""
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    logs: dict[str, Path] = field(default_factory=dict)

    def rss_mb(self) -> dict[str, float | None]:
        return {name: rss_mb(p.pid) for name, p in self.processes.items()}

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise SystemExit(f"{name} exited ({process.returncode}):\n{tail(self.logs[name])}")

    def log_findings(self) -> dict[str, int]:
        """Server errors and tracebacks the processes logged (a defect, whatever the driver saw)."""
        found = {"http_5xx": 0, "tracebacks": 0}
        for path in self.logs.values():
            for line in path.read_text(errors="replace").splitlines():
                if '" 5' in line and "HTTP/1.1" in line:
                    found["http_5xx"] += 1
                if line.startswith("Traceback"):
                    found["tracebacks"] += 1
        return found


def rss_mb(pid: int) -> float | None:
    """Resident memory of `pid` in MiB, from /proc (None once it has gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def admin_key(env: dict[str, str]) -> str:
    """A new admin key of the deployment's store (this also creates the store's tables)."""
    done = subprocess.run(
        [TETHER, "keys", "create", "--role", "admin", "--name", "load", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=START_S,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"could not create an operator key:\n{done.stdout}{done.stderr}")
    return str(json.loads(done.stdout)["key"])


def start(deployment: Deployment, name: str, args: list[str], env: dict[str, str]) -> None:
    log = Path(env["TETHER_HOME"]) / f"{name}.log"
    handle = log.open("wb")
    deployment.logs[name] = log
    deployment.processes[name] = subprocess.Popen(
        [TETHER, *args], env=env, stdout=handle, stderr=subprocess.STDOUT, cwd=env["TETHER_HOME"]
    )
    handle.close()


def wait_ready(deployment: Deployment, url: str) -> None:
    """Wait for `/readyz` (or, on a revision that has none, `/healthz`) to answer 200."""
    deadline = time.monotonic() + START_S
    probe = "/readyz"
    while time.monotonic() < deadline:
        deployment.check_alive()
        try:
            status = httpx.get(f"{url}{probe}", timeout=2).status_code
            if status == 200:
                return
            if status == 404:
                probe = "/healthz"
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} was not ready within {START_S:g} s")


def wait_logged(deployment: Deployment, name: str, text: str) -> None:
    """Wait until process `name` has logged `text` (how a worker says it takes runs)."""
    deadline = time.monotonic() + START_S
    while text not in deployment.logs[name].read_text(errors="replace"):
        deployment.check_alive()
        if time.monotonic() > deadline:
            raise SystemExit(f"{name} did not start within {START_S:g} s")
        time.sleep(0.2)


def stop(deployment: Deployment) -> None:
    """SIGTERM every process, then SIGKILL what has not exited within 15 seconds."""
    for process in deployment.processes.values():
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + 15
    for process in deployment.processes.values():
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@contextmanager
def home() -> Iterator[dict[str, str]]:
    """The environment every process of a deployment shares, with a fresh home."""
    folder = tempfile.mkdtemp(prefix="tether-load-")
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("TETHER_", "OTEL_"))}
    try:
        yield {**keep, "TETHER_HOME": folder, "PYTHONUNBUFFERED": "1"}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def revision_source(revision: str) -> Iterator[tuple[str, str]]:
    """The `src` folder of `revision` of this repository, exported into a temporary folder, and
    the revision's short name; removed afterwards."""
    named = git("rev-parse", "--short", f"{revision}^{{commit}}")
    if named.returncode != 0:
        raise SystemExit(f"--baseline {revision}: {named.stderr.decode(errors='replace').strip()}")
    exported = git("archive", "--format=tar", revision, "src")
    if exported.returncode != 0:
        raise SystemExit(f"--baseline {revision}: {exported.stderr.decode(errors='replace')}")
    folder = tempfile.mkdtemp(prefix="tether-baseline-")
    try:
        with tarfile.open(fileobj=io.BytesIO(exported.stdout)) as archive:
            if hasattr(tarfile, "data_filter"):  # Python 3.11.4 and later
                archive.extractall(folder, filter="data")
            else:
                archive.extractall(folder)  # our own repository's archive
        yield str(Path(folder) / "src"), named.stdout.decode().strip()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def git(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["git", "-C", str(REPO), *args], capture_output=True, timeout=START_S, check=False
    )


@contextmanager
def sqlite_deployment(
    name: str = "sqlite", source: str | None = None, replicas: int = 1
) -> Iterator[Deployment]:
    """`replicas` `tether serve` over one fresh SQLite home, started together; `source`: run
    the package found there."""
    with home() as env:
        if source is not None:
            env["PYTHONPATH"] = source
        deployment = Deployment(name)
        try:
            deployment.key = admin_key(env)
            for n in range(1, replicas + 1):
                port = free_port()
                start(
                    deployment,
                    "api" if replicas == 1 else f"api-{n}",
                    ["serve", "--port", str(port)],
                    env,
                )
                deployment.urls.append(f"http://127.0.0.1:{port}")
            for url in deployment.urls:
                wait_ready(deployment, url)
            yield deployment
        finally:
            stop(deployment)


@contextmanager
def sqlite_replicas() -> Iterator[Deployment]:
    with sqlite_deployment("sqlite-replicas", replicas=2) as deployment:
        yield deployment


@contextmanager
def pg_schema() -> Iterator[str]:
    """A brand-new schema, dropped afterwards; yields a URL whose search_path is that schema."""
    from sqlalchemy import create_engine, text

    schema = f"load_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def redis_prefix() -> Iterator[str]:
    """A key prefix of this deployment alone; its keys are deleted afterwards."""
    import redis

    prefix = f"tether-load-{uuid.uuid4().hex[:8]}:"
    try:
        yield prefix
    finally:
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(match=f"{prefix}*", count=500):
            client.delete(key)
        client.close()


@contextmanager
def postgres_deployment() -> Iterator[Deployment]:
    with home() as base, pg_schema() as url, redis_prefix() as prefix:
        env = {
            **base,
            "TETHER_DATABASE_URL": url,
            "TETHER_REDIS_URL": REDIS_URL,
            "TETHER_REDIS_PREFIX": prefix,
        }
        deployment = Deployment("postgres")
        try:
            deployment.key = admin_key(env)
            api_env = {**env, "TETHER_WORKERS": "0"}
            for name in ("api-1", "api-2"):
                port = free_port()
                start(deployment, name, ["serve", "--port", str(port)], api_env)
                deployment.urls.append(f"http://127.0.0.1:{port}")
                wait_ready(deployment, deployment.urls[-1])  # one at a time: the first loads data
            for name in ("worker-1", "worker-2"):
                start(deployment, name, ["worker"], env)
            for name in ("worker-1", "worker-2"):
                wait_logged(deployment, name, "taking runs from")
            yield deployment
        finally:
            stop(deployment)


DEPLOYMENTS = {
    "sqlite": sqlite_deployment,
    "sqlite-replicas": sqlite_replicas,
    "postgres": postgres_deployment,
}
GROUPS = {"both": ["sqlite", "postgres"], "all": list(DEPLOYMENTS)}


def load_levels(
    deployments: list[Deployment], runs: int, levels: list[int]
) -> list[dict[str, Any]]:
    """Each level on each deployment in turn (a baseline right after the current one), so that
    drift in the machine falls on both alike."""
    results = []
    for concurrency in levels:
        for deployment in deployments:
            before = deployment.rss_mb()
            result = asyncio.run(drive(deployment.urls, deployment.key, runs, concurrency))
            deployment.check_alive()
            results.append(
                {
                    "topology": deployment.name,
                    "concurrency": concurrency,
                    **result,
                    "rss_mb": {"before": before, "after": deployment.rss_mb()},
                }
            )
            show_level(results[-1])
    return results


def ratios(rows: list[dict[str, Any]], current: str, baseline: str) -> list[dict[str, Any]]:
    """Per level: the current topology's completed runs/s over the baseline's, and p50 too."""
    found = []
    for row in rows:
        if row["topology"] != current:
            continue
        base = next(
            (
                r
                for r in rows
                if r["topology"] == baseline and r["concurrency"] == row["concurrency"]
            ),
            None,
        )
        if base is None or not base["runs_per_s"] or not row["p50_ms"]:
            continue
        found.append(
            {
                "concurrency": row["concurrency"],
                "runs_per_s": round(row["runs_per_s"] / base["runs_per_s"], 2),
                "p50_ms": round(row["p50_ms"] / base["p50_ms"], 2) if base["p50_ms"] else None,
            }
        )
    return found


def soak(deployment: Deployment, seconds: float, concurrency: int) -> dict[str, Any]:
    """Load for `seconds`, sampling every process's memory along the way."""
    samples = [{"t": 0.0, **deployment.rss_mb()}]
    began = time.monotonic()

    async def run() -> dict[str, Any]:
        task = asyncio.create_task(
            drive(deployment.urls, deployment.key, MAX_RUNS, concurrency, max_seconds=seconds)
        )
        while not task.done():
            await asyncio.wait({task}, timeout=SAMPLE_S)
            samples.append({"t": round(time.monotonic() - began, 1), **deployment.rss_mb()})
        return task.result()

    result = asyncio.run(run())
    deployment.check_alive()
    first, last = samples[0], samples[-1]
    growth = {
        name: round((last[name] or 0) - (first[name] or 0), 1) for name in deployment.processes
    }
    return {
        "topology": deployment.name,
        "concurrency": concurrency,
        "soak_s": seconds,
        **result,
        "runs": result["attempted"],  # a soak is bounded by time, not by a count
        "rss_growth_mb": growth,
        "rss_samples_mb": samples,
    }


def show_level(row: dict[str, Any]) -> None:
    errors = ", ".join(f"{k}:{v}" for k, v in row["errors_by_status"].items()) or "-"
    console.print(
        f"{row['topology']:>8} c={row['concurrency']:<3} completed {row['completed']}/"
        f"{row['runs']} lost {row['lost']} dup {row['duplicated']} errors {errors} "
        f"{row['runs_per_s']} runs/s p50 {row['p50_ms']} ms p99 {row['p99_ms']} ms",
        markup=False,
    )


def summary_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(
        "topology", "conc.", "runs", "accepted", "completed", "lost", "dup.", "errors",
        "runs/s", "p50 ms", "p99 ms", "server 5xx/tracebacks", title="load",
    )  # fmt: skip
    for row in rows:
        errors = ", ".join(f"{k}:{v}" for k, v in row["errors_by_status"].items()) or "-"
        logged = row.get("logged", {})
        table.add_row(
            row["topology"],
            str(row["concurrency"]),
            str(row["runs"]),
            str(row["accepted"]),
            str(row["completed"]),
            str(row["lost"]),
            str(row["duplicated"]),
            errors,
            str(row["runs_per_s"]),
            str(row["p50_ms"]),
            str(row["p99_ms"]),
            f"{logged.get('http_5xx', '-')}/{logged.get('tracebacks', '-')}",
        )
    return table


def interrupted(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--topology", choices=[*DEPLOYMENTS, *GROUPS], default="all")
    parser.add_argument("--runs", type=int, default=200, help="runs per concurrency level")
    parser.add_argument("--concurrency", default="1,8,32", help="levels, comma-separated")
    parser.add_argument(
        "--baseline", default="", help="also load this revision's SQLite topology, in turn"
    )
    parser.add_argument("--soak-seconds", type=float, default=0.0, help="soak instead, S s")
    parser.add_argument("--out", type=Path, default=Path(".tether/load.json"))
    args = parser.parse_args(argv)
    levels = [int(c) for c in args.concurrency.split(",") if c.strip()]
    if not 1 <= args.runs <= 100_000 or not all(1 <= c <= 256 for c in levels):
        parser.error("--runs must be 1 to 100000 and each concurrency 1 to 256")
    if not 0 <= args.soak_seconds <= 3600:
        parser.error("--soak-seconds must be 0 to 3600")
    # a SIGTERM unwinds like Ctrl-C, so every process and schema is cleaned up
    signal.signal(signal.SIGTERM, interrupted)
    names = GROUPS.get(args.topology, [args.topology])
    baseline = args.baseline
    if baseline and git("rev-parse", "--verify", "--quiet", f"{baseline}^{{commit}}").returncode:
        console.print(f"baseline {baseline} is not in this clone (a shallow one?): not loaded")
        baseline = ""
    rows: list[dict[str, Any]] = []
    compared: dict[str, dict[str, Any]] = {}  # by SQLite topology
    for name in names:
        with ExitStack() as stack:
            deployment = stack.enter_context(DEPLOYMENTS[name]())
            console.print(f"{name}: {len(deployment.processes)} processes, {deployment.urls}")
            deployments = [deployment]
            if baseline and name.startswith("sqlite") and not args.soak_seconds:
                source, short = stack.enter_context(revision_source(baseline))
                deployments.append(
                    stack.enter_context(sqlite_deployment(f"sqlite@{short}", source))
                )
                console.print(f"baseline: revision {short} on {deployments[-1].urls}")
            if args.soak_seconds:
                rows.append(soak(deployment, args.soak_seconds, 8))
                console.print(f"{name} soak RSS growth (MiB): {rows[-1]['rss_growth_mb']}")
            else:
                rows.extend(load_levels(deployments, args.runs, levels))
            for each in deployments:
                logged = each.log_findings()
                for row in rows:
                    if row["topology"] == each.name:
                        row["logged"] = logged  # for the whole deployment, not per level
            if len(deployments) > 1:
                # the baseline's rows are named after the topology they were loaded beside
                paired = f"{deployments[1].name}/{name}"
                for row in rows:
                    if row["topology"] == deployments[1].name:
                        row["topology"] = paired
                compared[name] = {
                    "revision": deployments[1].name.partition("@")[2],
                    "ratios": ratios(rows, name, paired),
                }
    console.print(summary_table(rows))
    for name, found in compared.items():
        console.print(f"{name} / baseline {found['revision']} (same sitting):", markup=False)
        for ratio in found["ratios"]:
            console.print(
                f"  c={ratio['concurrency']:<3} runs/s x{ratio['runs_per_s']}  "
                f"p50 x{ratio['p50_ms']}",
                markup=False,
            )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    out: dict[str, Any] = {"results": rows}
    if compared:
        out["baseline"] = compared
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    console.print(f"wrote {args.out}")
    bad = any(r["lost"] or r["duplicated"] for r in rows)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
