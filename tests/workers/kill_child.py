"""A process that starts a run and dies with SIGKILL mid-run (a script, never imported by tests).

python kill_child.py URL USER EMAIL ORDER COMMITS|read [--no-script]

In a new conversation, USER asks to cancel ORDER; the desk proposes the cancellation and the
user confirms it with the button. The confirmed turn's run is killed right after its COMMITS-th
commit (0: in its retrieval, before that commits), or with `read` once the read that follows
the write has returned (its steps wait to commit with the Decision). Its script is kept in the run's
metadata, so any process can rebuild its model; with --no-script it is not, and whoever resumes
the run asks the configured model.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from tether.core.types import Evidence, RiskClass, Run, Step
from tether.domains.retail.desk import open_retail_desk
from tether.models.scripted import ScriptedModel, parse_script
from tether.store import RunStore
from tether.tools.execute import CallContext, ToolOutcome
from tether.tools.registry import Tool


def head(email: str, order: str) -> list[dict[str, Any]]:
    """The first turn: identify, read the order, propose its cancellation."""
    return [
        {"tool": "find_user_id_by_email", "args": {"email": email}},
        {"tool": "get_order_details", "args": {"order_id": order}},
        {"tool": "cancel_pending_order", "args": {"order_id": order, "reason": "no longer needed"}},
    ]


def rest(order: str) -> list[dict[str, Any]]:
    """The confirmed turn, after the cancellation: read the order again, then report it."""
    return [
        {"tool": "get_order_details", "args": {"order_id": order}},
        {"answer": f"Order {order} is now cancelled [tool:4]."},
    ]


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class DieAfterCommits:
    """Observers hear of steps only once they are durable: the N-th batch is the N-th commit."""

    def __init__(self, commits: int) -> None:
        self.commits = commits
        self.seen = 0
        self.armed = False

    def on_steps(self, run: Run, steps: Sequence[Step]) -> None:
        if self.armed:
            self.seen += 1
            if self.seen == self.commits:
                die()

    def on_run_end(self, run: Run) -> None:
        pass


class DieOnSearch:
    """The retriever's search comes after the run is created and before its first commit."""

    def __init__(self, inner: Any, armed: DieAfterCommits) -> None:
        self.inner, self.armed = inner, armed

    def search(self, query: str, k: int, labels: Any, sources: Any) -> list[Evidence]:
        if self.armed.armed and self.armed.commits == 0:
            die()
        found: list[Evidence] = self.inner.search(query, k, labels, sources)
        return found


class DieAfterRead:
    """Executes tools; dies once an armed run's read returns (a write has run before it)."""

    def __init__(self, inner: Any, armed: DieAfterCommits) -> None:
        self.inner, self.armed = inner, armed

    def execute(self, tool: Tool, arguments: Mapping[str, Any], call: CallContext) -> ToolOutcome:
        outcome: ToolOutcome = self.inner.execute(tool, arguments, call)
        if self.armed.armed and self.armed.commits < 0 and tool.spec.risk is RiskClass.READ:
            die()
        return outcome


def main(argv: list[str]) -> None:
    url, user, email, order, commits = argv[:5]
    keep_script = "--no-script" not in argv[5:]
    desk = open_retail_desk(RunStore.open(url))
    killer = DieAfterCommits(-1 if commits == "read" else int(commits))
    desk.runtime = dataclasses.replace(
        desk.runtime,
        observers=(*desk.runtime.observers, killer),
        retriever=DieOnSearch(desk.runtime.retriever, killer),
        executor=DieAfterRead(desk.runtime.executor, killer),
    )
    conversation = desk.runtime.converse(user)
    first = head(email, order)
    asked = conversation.send(
        f"Please cancel order {order}, I no longer need it. My e-mail is {email}.",
        ScriptedModel(parse_script(first)),
        {"script": first},
    )
    assert asked.pending_action is not None, asked.run.to_dict()
    then = rest(order)
    killer.armed = True
    conversation.confirm(
        asked.pending_action.nonce,
        ScriptedModel(parse_script(then)),
        {"script": then, "order": order} if keep_script else {"order": order},
    )
    raise SystemExit(f"the run ended before commit {commits}")


if __name__ == "__main__":
    main(sys.argv[1:])
