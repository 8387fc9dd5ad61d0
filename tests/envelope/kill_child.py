"""A runtime process for the kill-and-resume tests (run as a script, never imported by tests).

    python kill_child.py run    URL retail|journal BOUNDARY MARKER
    python kill_child.py resume URL retail|journal RUN_ID

`run` starts a governed run and, on reaching BOUNDARY, writes MARKER and waits to be killed.
`resume` continues the stopped run and prints its Decision as JSON.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tether.core.types import Agent, Message, Principal, RiskClass
from tether.domains.retail.desk import open_retail_desk
from tether.domains.retail.pack import RETAIL
from tether.models.scripted import ScriptedModel, parse_script
from tether.runtime import RunRequest, Runtime
from tether.sdk.scenarios import load_scenarios
from tether.store import RunStore
from tether.tools import make_tool
from tether.tools.checks import SchemaCheck
from tether.tools.envelope import EnvelopeExecutor
from tether.tools.execute import CallContext, ToolOutcome
from tether.tools.registry import Tool, ToolRegistry

WRITE_TOOLS = {"cancel_pending_order", "append_entry"}
JOURNAL_SCRIPT = [
    {"tool": "append_entry", "args": {"text": "refund 5.00 to A1"}},
    {"answer": "Recorded [tool:1]."},
]


class Boundary:
    """Signals the parent and waits to be killed when the run reaches the chosen point."""

    def __init__(self, name: str, marker: Path | None) -> None:
        self.name, self.marker = name, marker

    def reached(self, name: str) -> None:
        if name != self.name or self.marker is None:
            return
        self.marker.write_text(name)
        time.sleep(120)  # the parent kills this process with SIGKILL before this ends
        raise SystemExit("not killed in time")


class PausingExecutor:
    """Stops before or after a write tool executes."""

    def __init__(self, inner: EnvelopeExecutor, boundary: Boundary) -> None:
        self.inner, self.boundary = inner, boundary

    def execute(self, tool: Tool, arguments: Mapping[str, Any], call: CallContext) -> ToolOutcome:
        if tool.name in WRITE_TOOLS:
            self.boundary.reached("before_call")
        outcome = self.inner.execute(tool, arguments, call)
        if tool.name in WRITE_TOOLS:
            self.boundary.reached("after_call")  # done, but not yet recorded by the runtime
        return outcome


class Anyone:
    def resolve(self, principal_id: str) -> Principal:
        return Principal(principal_id)


def journal_runtime(store: RunStore, journal: Path, boundary: Boundary) -> Runtime:
    def append_entry(text: str) -> dict[str, Any]:
        """Append a line to the journal (does not honour idempotency keys)."""
        with journal.open("a", encoding="utf-8") as handle:
            handle.write(text + "\n")
            handle.flush()
            boundary.reached("during_call")  # the line is written, the call has not returned
        return {"appended": text}

    tool = make_tool(append_entry, risk=RiskClass.IRREVERSIBLE)
    agent = Agent(  # no policy step in this chain: its writes are allowed explicitly
        "clerk",
        "Keep the journal.",
        (tool.name,),
        require_grounding=False,
        allow_writes_without_policy=True,
    )
    return Runtime(
        store=store,
        agents={agent.name: agent},
        tools=ToolRegistry([tool]),
        principals=Anyone(),
        tool_checks=(SchemaCheck(),),
        default_agent=agent.name,
    )


def retail_runtime(store: RunStore, boundary: Boundary) -> Runtime:
    desk = open_retail_desk(store)
    cancel = desk.runtime.tools.get("cancel_pending_order")
    assert cancel is not None

    def cancel_pausing(**arguments: Any) -> Any:
        # the tool's own transaction joins this one: the change is written, not committed
        with desk.data.transaction():
            result = cancel.fn(**arguments)
            boundary.reached("during_call")
        return result

    tools = desk.runtime.tools
    patched = dataclasses.replace(cancel, fn=cancel_pausing)
    registry = ToolRegistry(
        patched if name == patched.name else t
        for name in tools.names()
        if (t := tools.get(name)) is not None
    )
    return dataclasses.replace(desk.runtime, tools=registry)


def main(argv: list[str]) -> None:
    mode, url, kind, arg = argv[:4]
    store = RunStore.open(url)
    marker = Path(argv[4]) if mode == "run" else None
    boundary = Boundary(arg if mode == "run" else "", marker)
    journal = Path(url.removeprefix("sqlite:///")).with_suffix(".journal")
    if kind == "retail":
        runtime = retail_runtime(store, boundary)
        scenario = next(
            s for s in load_scenarios(None, RETAIL) if s.name == "cancel-after-confirmation"
        )
        asked, answered = scenario.turns[0], scenario.turns[1]  # the request, then the yes
        model = ScriptedModel(answered.model)
    else:
        runtime = journal_runtime(store, journal, boundary)
        model = ScriptedModel(parse_script(JOURNAL_SCRIPT))
        request = RunRequest("clerk_user", [Message("user", "Log the refund.")])
    runtime = dataclasses.replace(runtime, executor=PausingExecutor(EnvelopeExecutor(), boundary))
    if mode != "run":
        run = runtime.resume(arg, model)
    elif kind == "retail":  # the write happens in the turn that confirms it
        conversation = runtime.converse(scenario.principal)
        assert asked.user is not None and answered.user is not None
        conversation.send(asked.user, ScriptedModel(asked.model))
        run = conversation.send(answered.user, model).run
    else:
        run = runtime.run(request, model)
    assert run.decision is not None
    print(json.dumps({"run": run.id, "decision": run.decision.to_dict()}))


if __name__ == "__main__":
    main(sys.argv[1:])
