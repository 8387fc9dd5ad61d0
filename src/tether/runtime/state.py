"""A run's loop state, and how it is rebuilt from the steps the store holds.

Steps are the log: each step records the messages it appended and the evidence it added, so
the state after any step is the fold of the steps before it. The checkpoint column holds only
the counters, which keeps every step's write small.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tether.core.types import Agent, Evidence, Message, Principal, Run, Step


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
    tool_results: int = 0
    writes: list[dict[str, Any]] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)  # this process's steps, for the result
    unwritten: list[Step] = field(default_factory=list)  # deferred steps not yet committed
    header: Run | None = None

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
        if "evidence_id" in data and data.get("ok"):
            self.tool_results += 1
            eid = data["evidence_id"]
            self.evidence[eid] = Evidence(id=eid, source=f"tool:{data['tool']}", text="")
            if data.get("risk") != "read":
                self.writes.append(
                    {"tool": data["tool"], "arguments": data["arguments"], "output": data["output"]}
                )
        if step.kind.value == "model_turn" and "output" in data:
            self.turns += 1


def rebuild(state: RunState, steps: Iterable[Step]) -> RunState:
    for step in steps:
        state.apply(step)
    return state
