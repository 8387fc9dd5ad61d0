"""Exactly-once execution of tool calls with side effects.

Each call of a write or irreversible tool gets an idempotency key derived from the logical
action: the run (or the confirmed pending action), the tool and its canonical arguments. The
same call proposed again, in the same model turn or a later one, or by a resumed run, computes
the same key. The outcome is recorded under the key before the run goes on; a call whose key
is recorded returns the recorded outcome instead of running again, unless the recorded
failure says surely nothing was done (then it runs again, under the same key).

A write whose outcome is unknown (it timed out or lost its connection after it went out, or
the process stopped while it ran) is never retried blindly. The tool's `reconcile` hook says
whether it took effect: if it did, that is the outcome; if it did not, the call runs once more
under the same key when the tool honours keys. Otherwise the outcome is OUTCOME_UNKNOWN, which
the model may not retry and which ends the run in an escalation.
Read tools skip all of this: re-reading is harmless, and they cost no extra database trip.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Connection

from tether.core.errors import ErrorCode, TetherError
from tether.core.types import RiskClass
from tether.store.tool_results import LedgerEntry, ToolResultLedger
from tether.tools.execute import (
    CallContext,
    ToolExecutor,
    ToolOutcome,
    check_output,
    classify,
    idempotency_key,
)
from tether.tools.registry import Tool
from tether.tools.workers import Finished, settle, shared_pool

CONFIRMED_PREFIX = "confirmed-"  # the id a confirmed pending action's call runs under
# recorded failures that come before any effect: the call was refused (by the envelope, the
# schema, or the tool on its own terms) or never reached the tool's upstream; every other
# failure may have come after the effect, so it is replayed, never run again
_BEFORE_ANY_EFFECT = frozenset(
    {
        ErrorCode.INVALID_ARGUMENTS,
        ErrorCode.NOT_FOUND,
        ErrorCode.PRECONDITION_FAILED,
        ErrorCode.CONFLICT,
        ErrorCode.PERMISSION_DENIED,
        ErrorCode.RATE_LIMITED,
        ErrorCode.CIRCUIT_OPEN,
        ErrorCode.TOOL_UNAVAILABLE,  # only when not uncertain: the connection was refused
    }
)


def action_scope(run_id: str, call_id: str) -> str:
    """What a call's idempotency key is scoped to: its run, or for the call a confirmed
    pending action runs (`confirmed-<nonce>`), that action, whichever run executes it."""
    if call_id.startswith(CONFIRMED_PREFIX) and len(call_id) > len(CONFIRMED_PREFIX):
        return "pending:" + call_id.removeprefix(CONFIRMED_PREFIX)
    return run_id


def _canonical(tool: Tool, arguments: Mapping[str, Any]) -> Mapping[str, Any]:
    """The arguments as the tool takes them (keys it ignores dropped, parameters left out
    filled with their defaults), so two calls that do the same thing share one key; arguments
    that fail the schema are keyed as given. Equal decimals are spelled alike."""
    try:
        return tool.validate(arguments, defaults=True, one_spelling=True)
    except TetherError:
        return arguments


def _earlier_keys(tool: Tool, arguments: Mapping[str, Any], call: CallContext) -> list[str]:
    """The keys earlier versions gave this call, newest first: before decimals were spelled
    alike, and before defaults and number spellings were folded in. A write such a version
    started and a later one resumes must find its ledger row."""
    scope = call.action or call.run_id
    try:
        with_defaults: Mapping[str, Any] = tool.validate(arguments, defaults=True)
        spelled: Mapping[str, Any] = tool.validate(arguments)
    except TetherError:
        with_defaults = spelled = arguments
    return [
        idempotency_key(scope, tool.name, with_defaults),
        idempotency_key(scope, tool.name, spelled, folded=False),
    ]


def has_started(
    ledger: ToolResultLedger, tool: Tool, arguments: Mapping[str, Any], call: CallContext
) -> bool:
    """Whether a call with side effects was started under its idempotency key (by this run,
    an earlier process of it, or the confirmed action it carries out): what it did must be
    settled, never left unsaid. A read never counts as started."""
    if tool.spec.risk is RiskClass.READ:
        return False
    return _ledger_entry(ledger, tool, arguments, call)[1] is not None


def _ledger_entry(
    ledger: ToolResultLedger, tool: Tool, arguments: Mapping[str, Any], call: CallContext
) -> tuple[str, LedgerEntry | None]:
    """The call's idempotency key and its ledger entry, if any."""
    key = idempotency_key(call.action or call.run_id, tool.name, _canonical(tool, arguments))
    entry = ledger.get(key)
    if entry is not None:
        return key, entry
    for earlier in _earlier_keys(tool, arguments, call):  # a call an earlier version started
        found = ledger.get(earlier) if earlier != key else None
        if found is not None:  # keeps its key
            return earlier, found
    return key, None


def execute_once(
    executor: ToolExecutor,
    ledger: ToolResultLedger,
    tool: Tool,
    arguments: Mapping[str, Any],
    call: CallContext,
    claim: Callable[[Connection], bool] | None = None,
) -> ToolOutcome:
    """Execute `tool` through `executor`, at most once per idempotency key for side effects.

    `claim` (an approved call's single-use token) is used in the transaction that opens the
    call's ledger row: the token is spent exactly when the call is marked as started, so a
    crash between the two can neither lose the approval nor run the call twice. A claim
    refused (the token was spent) means the call does not run: TOKEN_REPLAYED."""
    if tool.spec.risk is RiskClass.READ:
        if claim is not None and not ledger.spend(claim):  # an approved read: once as well
            return _spent(None)
        return executor.execute(tool, arguments, call)
    canonical = _canonical(tool, arguments)
    key, entry = _ledger_entry(ledger, tool, arguments, call)
    keyed = dataclasses.replace(call, idempotency_key=key)
    retake: str | None = None
    if entry is not None and entry.outcome is not None:
        recorded = ToolOutcome.from_record(entry.outcome)
        if not _may_run_again(recorded):
            return dataclasses.replace(recorded, idempotency_key=key, replayed=True)
        retake = entry.recorded  # it surely did nothing: this is a fresh attempt at it
        entry = None
    if entry is not None and not tool.spec.idempotent:
        # started by a process that stopped before recording: it may or may not have acted
        interrupted = ToolOutcome(
            False,
            code=ErrorCode.OUTCOME_UNKNOWN,
            message=f"{tool.name} was interrupted before its result was recorded",
            uncertain=True,
        )
        outcome = _settle(executor, tool, arguments, canonical, keyed, interrupted)
    else:
        begin = (key, call.run_id, call.step_seq, tool.name)
        if claim is not None and entry is None:  # a pending entry spent it when it began
            if not ledger.begin(*begin, also=claim, retake=retake):
                return _spent(key)
        elif entry is None and not tool.spec.idempotent and not ledger.begin(*begin, retake=retake):
            return _lost_race(executor, ledger, tool, arguments, canonical, keyed)
        outcome = executor.execute(tool, arguments, keyed)
        if not outcome.ok and outcome.uncertain:
            outcome = _settle(executor, tool, arguments, canonical, keyed, outcome)
    if outcome.idempotency_key != key:
        outcome = dataclasses.replace(outcome, idempotency_key=key)
    ledger.finish(key, call.run_id, call.step_seq, tool.name, outcome.to_record())
    return outcome


def _lost_race(
    executor: ToolExecutor,
    ledger: ToolResultLedger,
    tool: Tool,
    arguments: Mapping[str, Any],
    canonical: Mapping[str, Any],
    call: CallContext,
) -> ToolOutcome:
    """Another worker started or finished the same action since the ledger was read: its
    recorded outcome if there is one, else what reconciling says; never a second execution.
    The ledger row stays the other worker's to finish."""
    key = call.idempotency_key
    found = ledger.get(key) if key else None
    if found is not None and found.outcome is not None:
        recorded = ToolOutcome.from_record(found.outcome)
        return dataclasses.replace(recorded, idempotency_key=key, replayed=True)
    busy = ToolOutcome(
        False,
        code=ErrorCode.OUTCOME_UNKNOWN,
        message=f"{tool.name} was started by another worker for the same action",
        uncertain=True,
    )
    outcome = _settle(executor, tool, arguments, canonical, call, busy)
    return dataclasses.replace(outcome, idempotency_key=key)


def _spent(key: str | None) -> ToolOutcome:
    """An approved call that may not start: its token was spent, or another worker started it."""
    return ToolOutcome(
        False,
        code=ErrorCode.TOKEN_REPLAYED,
        message="the approval's single-use token was already spent, or another worker started "
        "this call",
        idempotency_key=key,
        escalate=True,  # an approved action that cannot start goes back to a person
        retryable=False,
    )


def _may_run_again(recorded: ToolOutcome) -> bool:
    """A recorded failure that surely did nothing (refused, rate-limited, rejected by the tool
    itself) may be tried again; a success, or a failure that may have acted, is final."""
    if recorded.ok or recorded.uncertain or recorded.code is None:
        return False
    return recorded.code in _BEFORE_ANY_EFFECT


def _settle(
    executor: ToolExecutor,
    tool: Tool,
    arguments: Mapping[str, Any],
    canonical: Mapping[str, Any],
    call: CallContext,
    outcome: ToolOutcome,
) -> ToolOutcome:
    """An outcome that leaves the effect in doubt, made certain: the reconciled outcome, the
    call run once more under the same key (only for a tool that honours it, and only when the
    hook says it did not happen), or OUTCOME_UNKNOWN."""
    assert call.idempotency_key is not None
    attempts = list(outcome.attempts)
    latency = outcome.latency_ms
    for last in (False, True):
        found, note = _reconcile(tool, canonical, call.idempotency_key)
        attempts.append({"reconcile": note})
        if found is not None:
            return dataclasses.replace(
                found,
                attempts=tuple(attempts),
                latency_ms=latency,
                reconciled=True,
                uncertain=False,
            )
        if note != "absent" or not tool.spec.idempotent or last:
            return _unknown(tool, outcome, note, tuple(attempts), latency)
        outcome = executor.execute(tool, arguments, call)  # safe: the tool honours the key
        attempts.extend(outcome.attempts)
        latency += outcome.latency_ms
        if outcome.ok or not outcome.uncertain:
            return dataclasses.replace(outcome, attempts=tuple(attempts), latency_ms=latency)
    raise AssertionError("unreachable")  # pragma: no cover


def _reconcile(
    tool: Tool, arguments: Mapping[str, Any], key: str
) -> tuple[ToolOutcome | None, str]:
    """Ask the tool's hook what the call did: (outcome, "found"), (None, "absent") when it did
    not happen, or (None, why not) when there is no hook or it could not tell."""
    hook = tool.reconcile
    if hook is None:
        return None, "no hook"
    timeout = tool.spec.envelope.timeout_s
    done = shared_pool().run(lambda: settle(hook(dict(arguments), key), timeout), timeout)
    if not isinstance(done, Finished):
        return None, "the hook did not answer in time"
    if done.error is not None:
        return None, f"the hook failed: {classify(done.error, tool.name)[1]}"
    value = done.value
    if value is None:
        return None, "absent"
    if isinstance(value, ToolOutcome):
        return dataclasses.replace(value, attempts=(), replayed=False), "found"
    value = tool.as_declared(value)
    problem = check_output(tool, value)
    if problem is not None:
        return None, f"the hook's answer is not a valid output: {problem[1]}"
    return ToolOutcome(True, output=value), "found"


def _unknown(
    tool: Tool,
    cause: ToolOutcome,
    why: str,
    attempts: tuple[Mapping[str, Any], ...],
    latency_ms: float,
) -> ToolOutcome:
    if why == "absent":
        why = "its hook found no effect, but the tool does not honour idempotency keys"
    message = (
        f"{tool.name} may or may not have taken effect ({cause.message}); it cannot be "
        f"reconciled ({why}), so it is not run again"
    )
    return ToolOutcome(
        False,
        code=ErrorCode.OUTCOME_UNKNOWN,
        message=message,
        hint="do not try it again: a person must check whether it took effect",
        latency_ms=latency_ms,
        attempts=attempts,
        escalate=True,
        retryable=False,
    )
