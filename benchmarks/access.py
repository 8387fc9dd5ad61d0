"""Cost of least privilege and of the audit trail.

Measures, in one process: minting and verifying capability tokens (per tool call, the runtime
verifies twice: in the guard and at execution); appending audit events on SQLite and, when it
is reachable, PostgreSQL (one event per transaction, and batches); verifying the chain. Prints a
table with the targets; never fails on wall time.

    python benchmarks/access.py [--events 20000] [--pg postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, text

from tether.access.audit import AuditEvent
from tether.access.control import AccessControl
from tether.access.settings import AccessSettings
from tether.access.tokens import RUN_AUDIENCE
from tether.core.types import Principal
from tether.store.runs import RunStore

PRINCIPAL = Principal("raj_sanchez_2970", "retail", ("customer",))
TOOLS = ("find_user_id_by_email", "get_order_details", "cancel_pending_order")
SCOPES = ("retail:read", "retail:write")
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def per_op(fn: Callable[[], object], n: int) -> float:
    """Median seconds per call over 5 rounds of n calls."""
    rounds = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        rounds.append((time.perf_counter() - start) / n)
    return statistics.median(rounds)


def event(i: int) -> AuditEvent:
    data = {"tool": "cancel_pending_order", "arguments": {"order_id": f"#W{i:07d}"}, "ok": True}
    return AuditEvent("tool.write", "principal:raj_sanchez_2970", data, f"run_{i // 10:08d}")


def token_rows(access: AccessControl, n: int) -> list[tuple[str, str, str]]:
    tokens = access.tokens
    token, _ = tokens.mint_run("run_1", PRINCIPAL, "retail-desk", TOOLS, SCOPES)
    mint = per_op(lambda: tokens.mint_run("run_1", PRINCIPAL, "retail-desk", TOOLS, SCOPES), n)

    def verify() -> None:
        tokens.verify(token, audience=RUN_AUDIENCE, run_id="run_1", tool="get_order_details")

    verify()
    cached = per_op(verify, n)

    def verify_cold() -> None:  # a new token text each time: the signature is checked
        fresh, _ = tokens.mint_run("run_1", PRINCIPAL, "retail-desk", TOOLS, SCOPES)
        tokens.verify(fresh, audience=RUN_AUDIENCE, run_id="run_1", tool="get_order_details")

    cold = per_op(verify_cold, n) - mint
    per_call = 2 * cached  # guard check + re-check at execution
    return [
        ("mint a run token (sign)", f"{mint * 1e6:.1f} µs", ""),
        ("verify, first use (signature)", f"{cold * 1e6:.1f} µs", ""),
        ("verify, later uses", f"{cached * 1e6:.1f} µs", ""),
        ("token cost per tool call (2 checks)", f"{per_call * 1e6:.1f} µs", ""),
        (
            "mint + verify per run of 4 calls",
            f"{(mint + cold + 7 * cached) * 1e3:.3f} ms",
            "",
        ),
    ]


def revocation_row(access: AccessControl, n: int) -> tuple[str, str, str]:
    _, claims = access.tokens.mint_run("run_1", PRINCIPAL, "retail-desk", TOOLS, SCOPES)
    inner = access.revocations.inner  # type: ignore[attr-defined]
    lookup = per_op(lambda: inner.status(claims.id), n)
    return ("revocation lookup in the store (uncached)", f"{lookup * 1e6:.1f} µs", "")


def audit_rows(label: str, access: AccessControl, events: int) -> list[tuple[str, str, str]]:
    audit = access.audit
    single = min(events, 5000)
    start = time.perf_counter()
    for i in range(single):
        audit.append([event(i)])
    one_rate = single / (time.perf_counter() - start)
    batch = 100
    start = time.perf_counter()
    for b in range(events // batch):
        audit.append([event(b * batch + i) for i in range(batch)])
    batch_rate = (events // batch) * batch / (time.perf_counter() - start)
    start = time.perf_counter()
    report = access.verify_audit()
    verify_rate = report.events / (time.perf_counter() - start)
    assert report.ok, report
    target = "target >= 5,000/s" if label == "SQLite" else ""
    return [
        (f"audit append, 1 event/transaction, {label}", f"{one_rate:,.0f} events/s", target),
        (f"audit append, batches of {batch}, {label}", f"{batch_rate:,.0f} events/s", ""),
        (
            f"audit verify, {label} ({report.events:,} events)",
            f"{verify_rate:,.0f} events/s",
            "target >= 100,000/s",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--calls", type=int, default=2_000)
    parser.add_argument("--pg", default=DEFAULT_PG, help="PostgreSQL URL ('' to skip)")
    args = parser.parse_args()
    settings = AccessSettings(revocation_cache_s=1.0)
    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        store = RunStore.open(f"sqlite:///{Path(tmp) / 'bench.db'}")
        access = AccessControl.open(store.engine, settings=settings)
        rows += token_rows(access, args.calls)
        rows.append(revocation_row(access, args.calls))
        rows += audit_rows("SQLite", access, args.events)
        store.close()
    rows += postgres_rows(args.pg, args.events, settings)
    table = Table(title="access: capability tokens and the audit chain")
    for name in ("measure", "value", "target"):
        table.add_column(name, justify="right" if name == "value" else "left")
    for row in rows:
        table.add_row(*row)
    Console().print(table)


def postgres_rows(url: str, events: int, settings: AccessSettings) -> list[tuple[str, str, str]]:
    if not url:
        return []
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    try:
        admin = create_engine(url, connect_args={"connect_timeout": 3})
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # an absent server is reported, not fatal
        return [("PostgreSQL", "skipped", str(exc).splitlines()[0][:60])]
    try:
        store = RunStore.open(f"{url}?options=-csearch_path%3D{schema}")
        rows = audit_rows("PostgreSQL", AccessControl.open(store.engine, settings=settings), events)
        store.close()
        return rows
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()
