"""How runs and their steps are kept as rows: the columns and the statements of the write path,
written once in the driver's own SQL, the row of a new run, and a step or decision read back."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from tether.core.errors import ErrorCode, TetherError
from tether.core.types import Decision, DecisionKind, Reason, Run, Step, StepKind
from tether.store.db import driver_sql
from tether.store.in_flight import Quota, hold
from tether.store.leases import Lease

# Statements written once in the driver's own SQL (`?` placeholders, see `driver_sql`): the
# run and step writes are the hot path of every run, and a SQLAlchemy statement costs about
# twice the driver call it makes. No name here is a keyword of either database.
_RUN_COLUMNS = (
    "id",
    "agent",
    "principal_id",
    "tenant",
    "status",
    "created_at",
    "updated_at",
    "trace_id",
    "step_count",
    "input",
    "checkpoint",
    "lease_owner",
    "lease_expires_at",
    "operator",
    "release_id",
)
_STEP_COLUMNS = ("run_id", "seq", "kind", "name", "started_at", "ended_at", "data")
_ADVANCE_COLUMNS = ("step_count", "updated_at", "checkpoint")
_FINISH_COLUMNS = ("status", "decision", "decision_kind", "decision_code")
_OPERATOR_CHARS = 256  # the width of runs.operator
STEP_NAME_CHARS = 128  # the width of steps.name


def _insert_sql(table: str, columns: Sequence[str]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"


def _run_update(columns: Sequence[str], fenced: bool, free: bool = False) -> str:
    """UPDATE runs SET `columns` (bound in order, then the run's id) for one run; `fenced`:
    only while the writer still holds the run's lease (its owner bound last); `free`: the run
    lets go of its lease. The run's cancel request is read with the write, not after it."""
    sets = [f"{c} = ?" for c in columns]
    if free:
        sets += ["lease_owner = NULL", "lease_expires_at = NULL"]
    where = "id = ?" + (" AND lease_owner = ?" if fenced else "")
    return f"UPDATE runs SET {', '.join(sets)} WHERE {where} RETURNING cancel_requested"


_INSERT_RUN = _insert_sql("runs", _RUN_COLUMNS)
_INSERT_STEP = _insert_sql("steps", _STEP_COLUMNS)

# (fenced, kind) → (statement, its columns); kind: advance, status (waits: frees the lease),
# finish (ends)
_RUN_UPDATES = {
    (fenced, kind): (_run_update(columns, fenced, free), columns)
    for fenced in (False, True)
    for kind, columns, free in (
        ("advance", _ADVANCE_COLUMNS, False),
        ("status", (*_ADVANCE_COLUMNS, "status"), True),
        ("finish", (*_ADVANCE_COLUMNS, *_FINISH_COLUMNS), True),
    )
}


def _step(row: Mapping[str, Any]) -> Step:
    """A step as stored; RUN_UNREADABLE for a row this version cannot read (cut short, or of a
    kind a newer version records): what the run did there is not known, so nothing goes on
    from it."""
    try:
        kind, data = StepKind(row["kind"]), json.loads(row["data"])
    except ValueError:
        raise TetherError(
            ErrorCode.RUN_UNREADABLE,
            f"step {row['seq']} of run {row['run_id']} is stored in a form this version cannot "
            "read (cut short, or written by a newer version)",
        ) from None
    return Step(
        run_id=row["run_id"],
        seq=row["seq"],
        kind=kind,
        name=row["name"],
        started_at=row["started_at"],
        ended_at=row["ended_at"],
        data=data,
    )


def step_name(name: str) -> str:
    """The name a step is recorded under: cut to the width of `steps.name`, alike on every store
    (PostgreSQL refuses a longer one, SQLite keeps it). A name a model writes (an unknown tool's)
    is kept whole in the step's data (its `call`)."""
    return name if len(name) <= STEP_NAME_CHARS else name[: STEP_NAME_CHARS - 1] + "…"


def run_operator(run: Run) -> str | None:
    """The operator that asked for `run`: its metadata's `operator`, where the HTTP API
    records the key and the CLI the terminal user (`cli:<user>`). Runs started from Python
    or the demo have none."""
    metadata = run.input.get("metadata")
    operator = metadata.get("operator") if isinstance(metadata, Mapping) else None
    return operator if isinstance(operator, str) and 0 < len(operator) <= _OPERATOR_CHARS else None


# Encoders made once: `json.dumps` with options builds one per call, which costs a run's 17
# steps more than a tenth of their encoding. A step's data is a tree of JSON values built for
# it, so its encoder does not track containers to find one that holds itself (such a value
# ends in RecursionError, as one nested too deep does).
_ROW = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_STEP = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=False, allow_nan=False, check_circular=False
)


def _dumps(value: Any) -> str:
    return _ROW.encode(value)


def step_json(data: Mapping[str, Any]) -> str:
    """A step's data as the store keeps it: compact JSON with its characters as they are;
    ValueError for a number JSON cannot carry (NaN, infinity), TypeError for a non-JSON type,
    RecursionError for a value nested too deep or holding itself."""
    return _STEP.encode(data)


def read_input(text: str) -> dict[str, Any]:
    """A run's stored input as this version reads it: a JSON object whose `messages` are a list
    of objects and whose `metadata` is an object (every reader of a run goes through them).
    ValueError for any other form (not JSON, or JSON of another shape: hand-edited, or a later
    version's)."""
    loaded = json.loads(text)
    if not isinstance(loaded, dict):
        raise ValueError(f"a run's input is an object, not {type(loaded).__name__}")
    if not _list_of(loaded.get("messages", []), dict):
        raise ValueError("a run's messages are a list of objects")
    if not isinstance(loaded.get("metadata", {}), dict):
        raise ValueError("a run's metadata is an object")
    return loaded


def decision_from_dict(data: Mapping[str, Any]) -> Decision:
    """A stored Decision; ValueError for one this version does not record: a kind or code it
    does not know, or a field of another type (a later version's structured text, say)."""
    text, reason = data.get("text", ""), data.get("reason")
    citations, results = data.get("citations", []), data.get("results", [])
    pending = data.get("pending_action")
    if not (
        isinstance(text, str)
        and _list_of(citations, str)
        and _list_of(results, dict)
        and (reason is None or (isinstance(reason, dict) and isinstance(reason["message"], str)))
        and (pending is None or isinstance(pending, dict))
    ):
        raise ValueError("a stored Decision has a field of a type this version does not record")
    return Decision(
        kind=DecisionKind(data["kind"]),
        text=text,
        citations=tuple(citations),
        results=tuple(results),
        reason=Reason(ErrorCode(reason["code"]), reason["message"]) if reason else None,
        pending_action=pending,
    )


def _list_of(value: Any, kind: type) -> bool:
    return isinstance(value, list) and all(isinstance(v, kind) for v in value)


@dataclass(frozen=True)
class NewRun:
    """A run not yet stored, inserted in the transaction of its first steps (`append_steps`
    with `create`): its row and its scope then become durable together."""

    run: Run
    lease: Lease | None = None
    # its principal's and operator key's runs in flight, held to as its row is inserted
    quota: Quota | None = None


def _insert_run(
    conn: Connection,
    new: NewRun,
    checkpoint: Mapping[str, Any] | str,
    step_count: int = 0,
    updated_at: float | None = None,
) -> None:
    """Insert the row of `new` (`checkpoint` as a mapping or as its JSON text; `step_count` and
    `updated_at` those of steps written beside it); under its quota, the quota's count and lock
    come first, as the first statements of `conn`'s transaction (`tether.store.in_flight.hold`)."""
    run, lease = new.run, new.lease
    if new.quota is not None:
        hold(conn, new.quota, run.principal_id, run_operator(run))
    row = {
        "id": run.id,
        "agent": run.agent,
        "principal_id": run.principal_id,
        "tenant": str(run.input.get("tenant", "default")),
        "status": run.status.value,
        "created_at": run.created_at,
        "updated_at": run.updated_at if updated_at is None else updated_at,
        "trace_id": run.trace_id,
        "step_count": step_count,
        "input": _dumps(dict(run.input)),
        "checkpoint": checkpoint if isinstance(checkpoint, str) else _dumps(dict(checkpoint)),
        "lease_owner": lease.owner if lease else None,
        "lease_expires_at": lease.expires_at if lease else None,
        "operator": run_operator(run),
        "release_id": run.release or None,
    }
    conn.exec_driver_sql(driver_sql(conn.dialect, _INSERT_RUN), tuple(row[c] for c in _RUN_COLUMNS))
