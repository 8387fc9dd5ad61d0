"""Replaying a retail task as a compliant agent's conversation, on a fresh copy of the store.

A `TaskReplay` holds the conversation a governed run would have: the customer's opening
message, then for each proposal the agent's read-back and the customer's yes (before a write),
the agent's tool call, and the tool's (or the guard's) answer. Proposals pass the desk's tool
checks; allowed calls run with the real tools, so later proposals see the updated records.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from tether import (
    ErrorCode,
    GuardContext,
    GuardResult,
    Message,
    PendingAction,
    Principal,
    SchemaCheck,
    TetherError,
    ToolCall,
    ToolCheck,
    ToolRegistry,
    Verdict,
    run_tool_checks,
)
from tether.access import GrantCheck, OwnershipCheck
from tether.domains.retail.db import RetailDB
from tether.domains.retail.desk import RETAIL_AGENT
from tether.domains.retail.ownership import RetailOwnership
from tether.domains.retail.policy import RetailPolicyBinding
from tether.domains.retail.policy_facts import LOOKUPS, WRITES, Catalog, describe_change
from tether.domains.retail.tools import build_tools
from tether.policy import PolicyCheck, PolicyEngine, argument_hash
from tether.tools import DirectExecutor, ToolOutcome

Task = dict[str, Any]
CONFIRM_TEXT = "Yes, please go ahead."


def load_tasks() -> list[Task]:
    """The 114 retail tasks with their gold action sequences."""
    text = (
        resources.files("tether.domains.retail").joinpath("data").joinpath("tasks.json").read_text()
    )
    tasks: list[Task] = json.loads(text)
    return tasks


def gold_actions(task: Task) -> list[dict[str, Any]]:
    """A task's gold actions, in order."""
    return list(task["evaluation_criteria"]["actions"] or ())


def opening_message(task: Task) -> str:
    """The customer's first message: who they say they are, then why they are calling."""
    info = task["user_scenario"]["instructions"]
    if isinstance(info, str):
        return info
    return " ".join(str(info.get(k) or "") for k in ("known_info", "reason_for_call")).strip()


def task_principal(task: Task, db: RetailDB) -> str | None:
    """The customer a task is about, from authoritative records: the owner of the first order
    or profile its actions name, else whom its lookups find, else whom its opening identifies."""
    tools = {t.name: t for t in build_tools(db)}
    for action in gold_actions(task):
        args = action["arguments"]
        if isinstance(args.get("user_id"), str) and db.user(args["user_id"]) is not None:
            return str(args["user_id"])
        order = db.order(args["order_id"]) if isinstance(args.get("order_id"), str) else None
        if order is not None:
            return str(order["user_id"])
    for action in gold_actions(task):
        if action["name"] in LOOKUPS:
            outcome = DirectExecutor().execute(
                tools[action["name"]], tools[action["name"]].validate(action["arguments"])
            )
            if outcome.ok:
                return str(outcome.output)
    said = opening_message(task).lower()
    for user in db.users():
        name = user["name"]
        who = f"{name['first_name']} {name['last_name']}".lower()
        if str(user["email"]).lower() in said or (who in said and user["address"]["zip"] in said):
            return str(user["user_id"])
    return None


@dataclass(frozen=True)
class Proposal:
    """What the checks said about one proposed call."""

    call: ToolCall
    chain: GuardResult
    policy: Verdict

    @property
    def blocked(self) -> bool:
        return not self.chain.allowed

    @property
    def rules(self) -> list[str]:
        return [str(r) for r in self.policy.facts.get("rules", ())]

    @property
    def policy_ms(self) -> float:
        return float(self.policy.facts.get("policy_ms", 0.0))


@dataclass
class TaskReplay:
    """One task's conversation over one fresh store."""

    principal: Principal
    db: RetailDB
    tools: ToolRegistry
    checks: Sequence[ToolCheck]
    policy: PolicyCheck
    messages: list[Message] = field(default_factory=list)
    calls: int = 0
    confirmed: PendingAction | None = None  # the call the customer confirmed, once

    @classmethod
    def start(
        cls,
        principal_id: str,
        opening: str,
        ownership: RetailOwnership,
        catalog: Catalog,
        engine: PolicyEngine,
    ) -> TaskReplay:
        """A conversation opened by `opening`, over a fresh copy of the store."""
        db = RetailDB.fresh_copy()
        # a fresh copy materialises on first use and compiles each statement once; do both
        # here, as a long-running desk already has, so decisions are timed in steady state
        db.user(principal_id), db.order("#W0000000"), db.product("0")
        policy = PolicyCheck(engine, RetailPolicyBinding(db, ownership, catalog))
        checks: list[ToolCheck] = [SchemaCheck(), GrantCheck(), OwnershipCheck(ownership), policy]
        principal = Principal(principal_id, "retail", ("customer",))
        tools = ToolRegistry(build_tools(db))
        return cls(principal, db, tools, checks, policy, [Message("user", opening)])

    def next_call(self, name: str, arguments: Mapping[str, Any]) -> ToolCall:
        """A call with the next call id of this conversation."""
        self.calls += 1
        return ToolCall(f"call-{self.calls}", name, dict(arguments))

    def confirm(self, call: ToolCall) -> None:
        """The read-back and the customer's yes a compliant agent gets before a write: the
        runtime holds the call as a pending action, and the customer confirms exactly it."""
        summary = describe_change(call.name, call.arguments)
        self.messages.append(Message("assistant", summary))
        self.messages.append(Message("user", CONFIRM_TEXT))
        self.confirmed = PendingAction(
            nonce=f"eval-{self.calls}",
            tool=call.name,
            arguments=dict(call.arguments),
            argument_hash=argument_hash(call.name, call.arguments),
            summary=summary,
            created_at=0.0,
            expires_at=float("inf"),
        )

    def context(self) -> GuardContext:
        """What the checks see now: the customer, the desk agent, the tools, the messages,
        and the call the customer confirmed (if any)."""
        return GuardContext(
            "eval",
            self.principal,
            RETAIL_AGENT,
            self.tools,
            {},
            messages=tuple(self.messages),
            confirmed=self.confirmed,
        )

    def propose(self, call: ToolCall, confirm: bool = True) -> Proposal:
        """Put the call through the checks, as the run loop would after the model proposed it."""
        if confirm and call.name in WRITES:
            self.confirm(call)
        self.messages.append(Message("assistant", "", (call,)))
        ctx = self.context()
        chain = run_tool_checks(self.checks, ctx, call)
        final = chain.final
        policy = final if final.check == self.policy.name else self.policy(ctx, call)
        self.confirmed = None  # a yes is good for one call
        return Proposal(call, chain, policy)

    def execute(self, call: ToolCall) -> ToolOutcome:
        """Run the call with the real tool and record what it returned."""
        tool = self.tools.get(call.name)
        if tool is None:
            outcome = ToolOutcome(False, code=ErrorCode.UNKNOWN_TOOL, message=call.name)
        else:
            try:
                arguments = tool.validate(call.arguments)
            except TetherError as exc:  # arguments the schema rejects never reach the tool
                outcome = ToolOutcome(False, code=exc.code, message=exc.message)
            else:
                outcome = DirectExecutor().execute(tool, arguments)
        observation = outcome.observation()
        content = json.dumps(observation, separators=(",", ":"), ensure_ascii=False)
        self.messages.append(Message("tool", content, tool_call_id=call.id))
        return outcome

    def refuse(self, proposal: Proposal) -> None:
        """Record the guard's refusal as the tool answer the model would see."""
        reason = proposal.chain.final.reasons[0]
        error = {"code": reason.code.value, "message": reason.message, "retryable": False}
        content = json.dumps({"ok": False, "error": error}, separators=(",", ":"))
        self.messages.append(Message("tool", content, tool_call_id=proposal.call.id))

    def follow_gold(self, action: Mapping[str, Any]) -> None:
        """Replay a gold action as a compliant agent would, without judging it."""
        call = self.next_call(str(action["name"]), action["arguments"])
        if call.name in WRITES:
            self.confirm(call)
        self.messages.append(Message("assistant", "", (call,)))
        self.confirmed = None
        self.execute(call)

    def close(self) -> None:
        """Discard this conversation's copy of the store."""
        self.db.engine.dispose()
