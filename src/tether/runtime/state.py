"""A run's loop state, and how it is rebuilt from the steps the store holds.

Steps are the log: each step records the messages it appended and the evidence it added, so
the state after any step is the fold of the steps before it. The checkpoint column holds only
the counters, which keeps every step's write small.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tether.access.audit import AuditEvent
from tether.access.governor import RunGrant
from tether.core.errors import ErrorCode
from tether.core.guard import GuardResult
from tether.core.types import (
    Agent,
    Effect,
    Evidence,
    Message,
    ModelTurn,
    Principal,
    Reason,
    Run,
    Step,
    StepKind,
    ToolCall,
    TurnKind,
    Verdict,
)
from tether.runtime.pending import PendingAction
from tether.store.run_rows import NewRun
from tether.tools.execute import ToolOutcome

# Tool output kept as evidence text for claim checks; past this it is cut (and reads as text).
MAX_TOOL_EVIDENCE_CHARS = 16_000


_EVIDENCE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str)


def tool_evidence_text(output: Any) -> str:
    """A tool's output as compact JSON, the text its claims are checked against."""
    if output is None:
        return ""
    text = _EVIDENCE.encode(output)
    return text if len(text) <= MAX_TOOL_EVIDENCE_CHARS else text[:MAX_TOOL_EVIDENCE_CHARS] + " …"


def evidence_from_dict(data: Mapping[str, Any]) -> Evidence:
    return Evidence(
        id=data["id"],
        source=data["source"],
        text=data.get("text", ""),
        version=data.get("version", ""),
        chunk=int(data.get("chunk", 0)),
        acl=tuple(data.get("acl", ())),
        score=float(data.get("score", 0.0)),
        title=data.get("title", ""),
    )


@dataclass
class RunState:
    run_id: str
    trace_id: str
    principal: Principal
    agent: Agent
    model_name: str
    started: float  # monotonic reading at the start, for the time limit
    messages: list[Message] = field(default_factory=list)
    evidence: dict[str, Evidence] = field(default_factory=dict)
    seq: int = 0
    turns: int = 0
    turn_seq: int = 0  # the step of the latest model turn (part of idempotency keys)
    tool_results: int = 0
    revisions: int = 0  # answers sent back to the model once with their failing claims
    writes: list[dict[str, Any]] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)  # this process's steps, for the result
    unwritten: list[Step] = field(default_factory=list)  # deferred steps not yet committed
    texts: dict[int, str] = field(default_factory=dict)  # their data as stored, by seq
    # time.monotonic() at the last commit of the run (or when this process took it up)
    committed_at: float = field(default_factory=time.monotonic)
    header: Run | None = None
    lease: str | None = None  # the owner of the run's lease while this process executes it
    unsaved: NewRun | None = None  # a new run's row, inserted with its first commit
    cancel: str | None = None  # who asked to cancel the run (it ends before its next turn)
    # when the run last read its row's cancellation (time.monotonic()), and `cancels_asked()`
    # just before (-1: never), so that it rereads only when it may have changed
    cancel_looked_at: float = 0.0
    cancels_seen: int = -1
    grant: RunGrant | None = None  # the run's capability (in memory only; re-minted on resume)
    renewed: dict[str, Any] | None = None  # a grant re-minted on resume, kept with the next step
    audit: list[AuditEvent] = field(default_factory=list)  # audit events not yet committed
    suspended: bool = False  # an escalated call waits for a person's decision
    confirmed: PendingAction | None = None  # the pending action the user confirmed this turn

    def checkpoint(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "turns": self.turns,
            "tool_results": self.tool_results,
            "writes": len(self.writes),
        }

    def apply(self, step: Step) -> None:
        """Fold one recorded step into the state (used both live and when rebuilding)."""
        self.seq = step.seq
        data = step.data
        self.messages[:0] = [Message.from_dict(m) for m in data.get("prepend", ())]
        self.messages.extend(Message.from_dict(m) for m in data.get("messages", ()))
        for ev in data.get("evidence", ()):
            self.evidence[ev["id"]] = evidence_from_dict(ev)
        if "prior_tool_results" in data:  # a conversation's earlier turns numbered theirs
            self.tool_results = int(data["prior_tool_results"])
        if "evidence_id" in data and data.get("ok"):
            self.tool_results += 1
            eid = data["evidence_id"]
            text = tool_evidence_text(data.get("output"))
            self.evidence[eid] = Evidence(id=eid, source=f"tool:{data['tool']}", text=text)
            if data.get("risk") != "read":
                self.writes.append(
                    {"tool": data["tool"], "arguments": data["arguments"], "output": data["output"]}
                )
        if data.get("revised"):
            self.revisions += 1
        if step.kind is StepKind.CONFIRMATION and data.get("event") == "confirmed":
            found = data.get("pending_action")
            self.confirmed = PendingAction.from_dict(found) if found else None
        if step.kind is StepKind.TOOL and str(data.get("call_id", "")).startswith("confirmed-"):
            self.confirmed = None  # a yes is good for one call
        if step.kind.value == "model_turn" and "output" in data:
            self.turns += 1
            self.turn_seq = step.seq


def rebuild(state: RunState, steps: Iterable[Step]) -> RunState:
    for step in steps:
        state.apply(step)
    return state


def turn_from_dict(data: Mapping[str, Any]) -> ModelTurn:
    """A model turn as `ModelTurn.to_dict` recorded it."""
    return ModelTurn(
        kind=TurnKind(data["kind"]),
        text=data.get("text", ""),
        tool_calls=tuple(
            ToolCall(c["id"], c["name"], dict(c.get("arguments") or {}))
            for c in data.get("tool_calls", ())
        ),
        citations=tuple(data.get("citations", ())),
        model=data.get("model", ""),
        usage=dict(data.get("usage", {})),
        raw=dict(data.get("raw", {})),
    )


def verdict_from_dict(data: Mapping[str, Any]) -> Verdict:
    """A verdict as `Verdict.to_dict` recorded it."""
    reasons = tuple(Reason(ErrorCode(r["code"]), r["message"]) for r in data.get("reasons", ()))
    return Verdict(data["check"], Effect(data["effect"]), reasons, dict(data.get("facts", {})))


@dataclass(frozen=True)
class OpenTurn:
    """The latest model turn of a stopped run and the steps recorded after it."""

    seq: int
    turn: ModelTurn | None  # None when the model call failed
    error: Mapping[str, Any] | None
    later: tuple[Step, ...]


def open_turn(steps: Sequence[Step]) -> OpenTurn | None:
    """The latest model turn, unless the run has none yet. The call a user confirmed counts
    as a turn of its own: the runtime proposed it on the user's behalf."""
    for index in range(len(steps) - 1, -1, -1):
        step = steps[index]
        later = tuple(steps[index + 1 :])
        if step.kind is StepKind.MODEL_TURN:
            output = step.data.get("output")
            turn = turn_from_dict(output) if output is not None else None
            return OpenTurn(step.seq, turn, step.data.get("error"), later)
        if step.kind is StepKind.CONFIRMATION and step.data.get("event") == "confirmed":
            calls = [
                ToolCall(c["id"], c["name"], dict(c.get("arguments") or {}))
                for m in step.data.get("messages", ())
                for c in m.get("tool_calls", ())
            ]
            return OpenTurn(step.seq, ModelTurn(TurnKind.TOOL_CALLS, "", tuple(calls)), None, later)
    return None


def take_step(steps: list[Step], kind: StepKind, call_id: str | None) -> Step | None:
    """Remove and return the first step of `kind` about tool call `call_id` (None: an answer)."""
    for index, step in enumerate(steps):
        if step.kind is not kind:
            continue
        data = step.data
        found = data.get("call_id") if kind is StepKind.TOOL else data.get("call", {}).get("id")
        if found == call_id:
            return steps.pop(index)
    return None


def take_approval(steps: list[Step], call_id: str) -> Step | None:
    """Remove the approval steps about tool call `call_id`; return the latest (the decision,
    once there is one)."""
    found = [s for s in steps if s.kind is StepKind.APPROVAL and s.data["call"]["id"] == call_id]
    for step in found:
        steps.remove(step)
    return found[-1] if found else None


def work_started(steps: Sequence[Step]) -> float | None:
    """When a worker began the run (its first step), None before: the time a run waited on
    the queue, from its creation until then, does not count against its time limit."""
    return steps[0].started_at if steps else None


def suspended_seconds(steps: Sequence[Step], until: float | None = None) -> float:
    """How long the run waited for decisions (not counted against its time limit); with
    `until`, a wait still open counts up to that instant."""
    waited, since = 0.0, None
    for step in steps:
        if step.kind is StepKind.APPROVAL:
            if step.data.get("status") == "pending":
                since = step.ended_at
            elif since is not None:
                waited += max(0.0, step.started_at - since)
                since = None
    if since is not None and until is not None:
        waited += max(0.0, until - since)
    return waited


def unfinished_calls(steps: Sequence[Step]) -> list[str]:
    """The tools the latest model turn called that have no recorded result."""
    found = open_turn(steps)
    if found is None or found.turn is None or found.turn.kind is not TurnKind.TOOL_CALLS:
        return []
    done = {s.data.get("call_id") for s in found.later if s.kind is StepKind.TOOL}
    return [call.name for call in found.turn.tool_calls if call.id not in done]


def recorded_guard(step: Step | None) -> GuardResult | None:
    """The guard result a guard step recorded."""
    if step is None:
        return None
    return GuardResult(tuple(verdict_from_dict(v) for v in step.data["verdicts"]))


def recorded_outcome(data: Mapping[str, Any]) -> ToolOutcome:
    """Enough of a recorded tool step's outcome to decide what it meant for the run."""
    error = data.get("error") or {}
    code = ErrorCode(error["code"]) if "code" in error else None
    return ToolOutcome(
        bool(data.get("ok")),
        code=code,
        message=str(error.get("message", "")),
        escalate=bool(data.get("escalated")),
    )
