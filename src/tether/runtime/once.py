"""Exactly-once execution of tool calls with side effects.

Each call of a write or irreversible tool gets an idempotency key derived from the run, the
model turn that proposed it, the tool and its canonical arguments, so a retry or a resumed
run computes the same key. The outcome is recorded under the key before the run goes on; a
call whose key is already recorded returns the recorded outcome instead of running again.
Read tools skip all of this: re-reading is harmless, and they cost no extra database trip.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from tether.core.errors import ErrorCode, TetherError
from tether.core.types import RiskClass
from tether.store.tool_results import ToolResultLedger
from tether.tools.execute import CallContext, ToolExecutor, ToolOutcome, idempotency_key
from tether.tools.registry import Tool


def _canonical(tool: Tool, arguments: Mapping[str, Any]) -> Mapping[str, Any]:
    """The arguments as the tool takes them (keys it ignores dropped), so two calls that do
    the same thing share one key; arguments that fail the schema are keyed as given."""
    try:
        return tool.validate(arguments)
    except TetherError:
        return arguments


def execute_once(
    executor: ToolExecutor,
    ledger: ToolResultLedger,
    tool: Tool,
    arguments: Mapping[str, Any],
    call: CallContext,
) -> ToolOutcome:
    """Execute `tool` through `executor`, at most once per idempotency key for side effects."""
    if tool.spec.risk is RiskClass.READ:
        return executor.execute(tool, arguments, call)
    key = idempotency_key(call.run_id, call.step_seq, tool.name, _canonical(tool, arguments))
    entry = ledger.get(key)
    if entry is not None and entry.outcome is not None:
        recorded = ToolOutcome.from_record(entry.outcome)
        return dataclasses.replace(recorded, idempotency_key=key, replayed=True)
    if entry is not None and not tool.spec.idempotent:
        # started by a process that stopped before recording, and the tool cannot tell us
        # whether it acted: running it again could repeat the effect, so a person decides
        outcome = ToolOutcome(
            False,
            code=ErrorCode.OUTCOME_UNKNOWN,
            message=f"{tool.name} was interrupted before its result was recorded and does not "
            "honour idempotency keys, so it is not run again; check whether it took effect",
            idempotency_key=key,
        )
    else:
        if entry is None and not tool.spec.idempotent:
            ledger.begin(key, call.run_id, call.step_seq, tool.name)
        keyed = dataclasses.replace(call, idempotency_key=key)
        outcome = executor.execute(tool, arguments, keyed)
        if outcome.idempotency_key != key:
            outcome = dataclasses.replace(outcome, idempotency_key=key)
    ledger.finish(key, call.run_id, call.step_seq, tool.name, outcome.to_record())
    return outcome
