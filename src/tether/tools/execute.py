"""Tool execution: the executor seam, the call context, and outcomes with stable codes.

`ToolExecutor.execute(tool, arguments, call)` is the seam the runtime calls. `DirectExecutor`
calls the tool in-process with no envelope (a baseline for tests and benchmarks);
`tether.tools.envelope.EnvelopeExecutor` is the runtime's default. Both classify whatever
happens into a `ToolOutcome`: output on success, else a code the model, the envelope or a
person acts on, and never a stack trace.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol

from tether.core.clock import Clock, SystemClock
from tether.core.errors import ErrorCode, TetherError
from tether.core.shapes import MAX_NESTING, nesting, storable
from tether.core.types import RiskClass
from tether.tools.errors import ToolError
from tether.tools.registry import Tool
from tether.tools.workers import settle

_IDEMPOTENCY_KEY: ContextVar[str | None] = ContextVar("tether_idempotency_key", default=None)


def current_idempotency_key() -> str | None:
    """The idempotency key of the call being executed, for tools that honour it."""
    return _IDEMPOTENCY_KEY.get()


def call_with_key(
    fn: Callable[..., Any],
    arguments: Mapping[str, Any],
    key: str | None,
    timeout: float | None = None,
) -> Any:
    """Call `fn(**arguments)` with `key` as the current idempotency key; a coroutine it returns
    is run to completion (cancelled after `timeout`) while the key is still current."""
    token = _IDEMPOTENCY_KEY.set(key)
    try:
        return settle(fn(**arguments), timeout)
    finally:
        _IDEMPOTENCY_KEY.reset(token)


def canonical_json(value: Any) -> str:
    """One spelling per value: sorted keys, no spaces (for keys and hashes)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def idempotency_key(
    scope: str, tool: str, arguments: Mapping[str, Any], folded: bool = True
) -> str:
    """The key of one logical action: the same scope (a run, or a confirmed pending action),
    tool and canonical arguments, whichever model turn proposes it. JSON-equal arguments
    (`5` and `5.0`) hash alike; any other difference gives another key. `folded=False`: the
    key as earlier versions spelled it, numbers as given (see `tether.runtime.once`)."""
    plain = canonical_json(_json_number_form(dict(arguments)) if folded else dict(arguments))
    digest = hashlib.sha256(plain.encode("utf-8")).hexdigest()
    material = canonical_json([scope, tool, digest])
    return "idem_" + hashlib.sha256(material.encode("utf-8")).hexdigest()[:40]


def _json_number_form(value: Any) -> Any:
    """`value` with each integral float as its int: one JSON number, one spelling."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {k: _json_number_form(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_number_form(v) for v in value]
    return value


_UNCERTAIN = frozenset(
    {ErrorCode.OUTCOME_UNKNOWN, ErrorCode.TOOL_TIMEOUT, ErrorCode.UPSTREAM_ERROR}
)


def effect_uncertain(exc: BaseException) -> bool:
    """Whether a call that raised `exc` may still have taken effect: the request went out and
    no answer came back (a timeout, a dropped connection), unlike a refused connection, or a
    tool that says so itself (OUTCOME_UNKNOWN)."""
    if isinstance(exc, ToolError | TetherError):  # a tool's own word: it timed out upstream,
        return exc.code in _UNCERTAIN  # the upstream failed mid-request, or it cannot tell
    if isinstance(exc, ConnectionRefusedError):
        return False  # nothing was sent
    return isinstance(exc, TimeoutError | ConnectionError)


@dataclass(frozen=True)
class CallContext:
    """Who and what a call belongs to, passed with every execution."""

    run_id: str = ""
    step_seq: int = 0  # the model turn's step that proposed the call
    principal_id: str = ""
    idempotency_key: str | None = None  # set for calls with side effects
    # the tools this run may fall back to (alternates are granted like any other tool)
    resolve: Callable[[str], Tool | None] | None = None
    # told about every attempt as it ends (attempt number, code, latency, breaker state)
    on_attempt: Callable[[Mapping[str, Any]], None] | None = None
    # the logical action the call belongs to, when it is more than "this run": a confirmed
    # pending action's nonce (its idempotency key then survives the run that executes it)
    action: str = ""


NO_CALL_CONTEXT = CallContext()
ALTERNATE = "alternate:"  # an outcome's `fallback` when an alternate tool produced it


@dataclass(frozen=True)
class ToolOutcome:
    """The result of one tool call: output on success, else a code and a message."""

    ok: bool
    output: Any = None
    code: ErrorCode | None = None
    message: str = ""
    latency_ms: float = 0.0
    attempts: tuple[Mapping[str, Any], ...] = field(default_factory=tuple)
    hint: str = ""  # what the model could do about the error
    escalate: bool = False  # the envelope's fallback hands the run to a human
    fallback: str = ""  # which fallback produced this outcome, if any
    stale_s: float | None = None  # a cached result's age in seconds
    idempotency_key: str | None = None
    replayed: bool = False  # the recorded result of an earlier execution
    retryable: bool | None = None  # the tool's own say (ToolError), over the code's flag
    # the call went out and no answer came back: its effect may or may not have happened
    uncertain: bool = False
    reconciled: bool = False  # the outcome was found through the tool's reconcile hook

    @property
    def may_retry(self) -> bool:
        """Whether trying the call again could succeed: the tool's say, else the code's."""
        if self.retryable is not None:
            return self.retryable
        return self.code.retryable if self.code is not None else False

    def producer(self, called: str) -> str:
        """The tool whose output this is: an alternate fallback's, else the `called` tool's."""
        return (
            self.fallback.removeprefix(ALTERNATE) if self.fallback.startswith(ALTERNATE) else called
        )

    def observation(self) -> dict[str, Any]:
        """What the model sees: the output, or a structured error (never a stack trace)."""
        if self.ok:
            if self.stale_s is None:
                return {"ok": True, "output": self.output}
            return {"ok": True, "output": self.output, "stale": True, "age_s": self.stale_s}
        assert self.code is not None
        error: dict[str, Any] = {
            "code": self.code.value,
            "message": self.message,
            "retryable": self.may_retry,
        }
        if self.hint:
            error["hint"] = self.hint
        return {"ok": False, "error": error}

    def facts(self) -> dict[str, Any]:
        """What the envelope and the result ledger did, for the tool step's record."""
        facts: dict[str, Any] = {}
        if self.idempotency_key:
            facts["idempotency_key"] = self.idempotency_key
        if self.replayed:
            facts["replayed"] = True
        if self.fallback:
            facts["fallback"] = self.fallback
        if self.escalate:
            facts["escalated"] = True
        if self.stale_s is not None:
            facts["stale_s"] = self.stale_s
        if self.reconciled:
            facts["reconciled"] = True
        return facts

    def to_record(self) -> dict[str, Any]:
        """The outcome as JSON, to be stored and returned again for the same idempotency key."""
        return {
            "ok": self.ok,
            "output": self.output,
            "code": self.code.value if self.code else None,
            "message": self.message,
            "hint": self.hint,
            "escalate": self.escalate,
            "fallback": self.fallback,
            "latency_ms": round(self.latency_ms, 3),
            "attempts": [dict(a) for a in self.attempts],
            "retryable": self.retryable,
            "uncertain": self.uncertain,
            "reconciled": self.reconciled,
        }

    @staticmethod
    def from_record(data: Mapping[str, Any]) -> ToolOutcome:
        """The outcome `to_record` wrote."""
        code = data.get("code")
        return ToolOutcome(
            ok=bool(data["ok"]),
            output=data.get("output"),
            code=ErrorCode(code) if code else None,
            message=str(data.get("message", "")),
            latency_ms=float(data.get("latency_ms", 0.0)),
            attempts=tuple(data.get("attempts", ())),
            hint=str(data.get("hint", "")),
            escalate=bool(data.get("escalate", False)),
            fallback=str(data.get("fallback", "")),
            retryable=_flag(data.get("retryable")),
            uncertain=data.get("uncertain") is True,
            reconciled=data.get("reconciled") is True,
        )


def _flag(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def failure(code: ErrorCode, message: str, **fields: Any) -> ToolOutcome:
    return ToolOutcome(False, code=code, message=message, **fields)


def classify(exc: BaseException, tool: str) -> tuple[ErrorCode, str]:
    """A code and a message for anything a tool raised, BaseException subclasses included.
    A tool's own message is made storable (it may echo an upstream's undecodable bytes): it is
    recorded, put in the ledger and shown to the model like any other."""
    if isinstance(exc, ToolError | TetherError):
        return exc.code, storable(str(exc.message))
    if isinstance(exc, TimeoutError):
        return ErrorCode.TOOL_TIMEOUT, f"{tool} timed out ({type(exc).__name__})"
    if isinstance(exc, ConnectionError):
        return ErrorCode.TOOL_UNAVAILABLE, f"{tool} could not connect ({type(exc).__name__})"
    if isinstance(exc, Exception):
        return ErrorCode.TOOL_ERROR, f"{tool} failed: {type(exc).__name__}"
    # KeyboardInterrupt, SystemExit or a custom BaseException raised by the tool itself
    return ErrorCode.TOOL_ERROR, f"{tool} raised {type(exc).__name__}, which tools must not raise"


def retryable_override(exc: BaseException) -> bool | None:
    """What a tool said about retrying when it raised `exc` (None: the code decides)."""
    return exc.retryable if isinstance(exc, ToolError) else None


# made once (`json.dumps` with options builds an encoder per call); output that holds itself is
# a RecursionError here, like output nested too deep
_OUTPUT = json.JSONEncoder(allow_nan=False, ensure_ascii=False, check_circular=False)


def check_output(tool: Tool, output: Any) -> tuple[ErrorCode, str] | None:
    """None when the output is JSON and fits the tool's output schema; else BAD_OUTPUT."""
    try:
        # outputs are recorded and replayed, so they must be plain JSON every store keeps:
        # finite numbers, text that encodes as UTF-8 (no lone surrogate) and holds no NUL
        text = _OUTPUT.encode(output)
        text.encode("utf-8")
    except (TypeError, ValueError, RecursionError):
        return ErrorCode.BAD_OUTPUT, f"{tool.name} returned output that is not JSON"
    # the API and every record must carry it; fewer brackets than levels cannot nest too deep,
    # which spares most outputs the walk
    if (
        text.count("[") + text.count("{") > MAX_NESTING
        and nesting(output, MAX_NESTING) > MAX_NESTING
    ):
        return (
            ErrorCode.BAD_OUTPUT,
            f"{tool.name} returned output nested deeper than {MAX_NESTING} levels",
        )
    if "\x00" in text:
        return ErrorCode.BAD_OUTPUT, f"{tool.name} returned output holding a NUL character"
    try:
        problem = tool.output_problem(output)
    except Exception as exc:  # a validator that breaks on odd input is still bad output
        problem = f"the schema check failed ({type(exc).__name__})"
    if problem:
        return ErrorCode.BAD_OUTPUT, f"{tool.name} returned output that fails its schema: {problem}"
    return None


class ToolExecutor(Protocol):
    """Runs one validated call of a tool and classifies what happened, never raising."""

    def execute(self, tool: Tool, arguments: Mapping[str, Any], call: CallContext) -> ToolOutcome:
        """Validate the arguments, call the tool and classify the outcome; never raises."""
        ...


class DirectExecutor:
    """Calls the tool in the calling thread, once, with no envelope; classifies the outcome."""

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()

    def execute(
        self, tool: Tool, arguments: Mapping[str, Any], call: CallContext = NO_CALL_CONTEXT
    ) -> ToolOutcome:
        start = self._clock.monotonic()
        try:
            output = call_with_key(tool.fn, tool.bind(arguments), call.idempotency_key)
        except Exception as exc:  # BaseException is left alone: here it may be the operator's
            code, message = classify(exc, tool.name)
            retryable = retryable_override(exc)
            return failure(
                code,
                message,
                latency_ms=self._elapsed(start),
                retryable=retryable,
                uncertain=tool.spec.risk is not RiskClass.READ and effect_uncertain(exc),
            )
        output = tool.as_declared(output)
        problem = check_output(tool, output)
        if problem is not None:
            return failure(*problem, latency_ms=self._elapsed(start))
        return ToolOutcome(True, output=output, latency_ms=self._elapsed(start))

    def _elapsed(self, start: float) -> float:
        return (self._clock.monotonic() - start) * 1000
