"""Replaying a retail task as a governed conversation, through the chain the desk deploys.

A `TaskReplay` holds the conversation a governed run would have over a fresh copy of the store
and judges every proposal with the retail desk's own tool checks, built as `build_desk` builds
them (schema → grant → ownership → policy with the store, safety and house rules → premises).
A write the policy wants confirmed becomes a pending action bound to its exact arguments (as
the runtime holds it), and the customer's reply is read by the consent classifier the runtime
uses; only a reply read as consent lets the stored call pass the chain again, confirmed (a test
checks that a real desk run reads the same replies the same way). Allowed gold calls run with
the real tools, so later proposals see the updated records; a probe (an injected violation) is
judged on a copy of the conversation and never runs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, cast

from tether import (
    DeskContext,
    Effect,
    ErrorCode,
    GuardContext,
    GuardResult,
    Message,
    PendingAction,
    Principal,
    TetherError,
    ToolCall,
    ToolCheck,
    ToolRegistry,
    as_received,
    run_tool_checks,
)
from tether.domains.retail.db import RetailDB
from tether.domains.retail.desk import RETAIL_AGENT
from tether.domains.retail.mutations import CONFIRM_TEXT
from tether.domains.retail.pack import RETAIL, setup
from tether.domains.retail.policy_facts import LOOKUPS, describe_change
from tether.domains.retail.tools import build_tools
from tether.policy import (
    ConsentReading,
    PolicyCheck,
    PolicyEngine,
    action_targets,
    action_verb,
    argument_hash,
    classify_reply,
)
from tether.sdk import default_tool_checks
from tether.tools import DirectExecutor, ToolOutcome

Task = dict[str, Any]
CONSENT = "confirmation"  # the runtime's reading of the customer's reply, as a check name
Record = dict[str, Any]


class _StillClock:
    """The retail pack's setup takes a clock and reads none; decisions here need no time."""

    def now(self) -> float:
        return 0.0

    def monotonic(self) -> float:
        return 0.0


def pending_action(call: ToolCall, nonce: str) -> PendingAction:
    """The call held for the customer's yes, bound to its exact arguments by their hash, as
    the runtime holds it (the summary is the desk's read-back of the change)."""
    return PendingAction(
        nonce=nonce,
        tool=call.name,
        arguments=dict(call.arguments),
        argument_hash=argument_hash(call.name, call.arguments),
        summary=f"{describe_change(call.name, call.arguments)} Shall I go ahead?",
        created_at=0.0,
        expires_at=float("inf"),
        call_id=call.id,
    )


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


def credit(chain: GuardResult) -> str:
    """The check that stopped a call: the first verdict that did not allow it, by check name;
    for the policy step, with the Cedar rules behind its effect (`policy:cancel-reason`): a
    denial names the refusing rules, not the confirmation or escalation rules that also
    matched."""
    final = chain.final
    if final.check != "policy":
        return final.check
    wanted = {Effect.CONFIRM: "confirm", Effect.ESCALATE: "escalate"}.get(final.effect)
    matches = [m for m in final.facts.get("determining", ()) if isinstance(m, Mapping)]
    if wanted is None:
        chosen = [m for m in matches if m.get("effect") not in ("confirm", "escalate")]
    else:
        chosen = [m for m in matches if m.get("effect") == wanted]
    rules = {str(m.get("rule")) for m in chosen} or {str(r) for r in final.facts.get("rules", ())}
    return f"policy:{','.join(sorted(rules))}" if rules else "policy"


@dataclass(frozen=True)
class Proposal:
    """What the deployed chain made of one proposed call: the chain as proposed, and again
    with the customer's consent when a confirmation was asked and their reply read as a yes."""

    call: ToolCall  # the call that would run (the stored call, once confirmed)
    chains: tuple[GuardResult, ...]
    reading: ConsentReading | None = None  # how the customer's reply was read, if asked

    @property
    def chain(self) -> GuardResult:
        return self.chains[-1]

    @property
    def allowed(self) -> bool:
        """The call would run now, without a person."""
        return self.chain.allowed

    @property
    def blocked(self) -> bool:
        return not self.allowed

    @property
    def escalated(self) -> bool:
        """Stopped to wait for a person's approval (not refused)."""
        return self.chain.final.effect is Effect.ESCALATE

    @property
    def stopped_by(self) -> str | None:
        """`credit` of the deciding chain; `confirmation` when the policy asked for the
        customer's yes and the consent reader did not read their reply as one."""
        if self.allowed:
            return None
        if self.reading is not None and not self.reading.confirmed:
            return CONSENT
        return credit(self.chain)

    @property
    def rules(self) -> list[str]:
        """The Cedar rules the policy step reported in the deciding chain (if it ran)."""
        policy = [v for v in self.chain.verdicts if v.check == "policy"]
        return [str(r) for r in policy[-1].facts.get("rules", ())] if policy else []

    @property
    def policy_ms(self) -> list[float]:
        """Milliseconds of each policy decision the proposal took."""
        return [
            float(v.facts["policy_ms"])
            for chain in self.chains
            for v in chain.verdicts
            if v.check == "policy" and "policy_ms" in v.facts
        ]


def desk_chain(
    db: RetailDB, engine: PolicyEngine | None = None
) -> tuple[ToolRegistry, tuple[ToolCheck, ...]]:
    """The tools and tool checks the retail desk deploys over `db`, built by the pack's setup
    and `default_tool_checks` as `build_desk` builds them; the grant step checks the agent's
    grants without a capability token (a token is bound to a live run, not to a proposal).
    `engine` replaces the desk's policy set (store, safety and house rules)."""
    parts = setup(DeskContext(cast(Any, None), _StillClock(), data=db))
    checks: list[ToolCheck] = default_tool_checks(RETAIL, parts, None)
    if engine is not None:
        assert parts.policy is not None
        checks = [PolicyCheck(engine, parts.policy) if c.name == "policy" else c for c in checks]
    return ToolRegistry(parts.tools), tuple(checks)


@dataclass
class TaskReplay:
    """One task's conversation over one fresh store."""

    principal: Principal
    db: RetailDB
    tools: ToolRegistry
    checks: Sequence[ToolCheck]
    messages: list[Message] = field(default_factory=list)
    calls: int = 0

    @classmethod
    def start(
        cls, principal_id: str, opening: str, engine: PolicyEngine | None = None
    ) -> TaskReplay:
        """A conversation opened by `opening`, over a fresh copy of the store."""
        db = RetailDB.fresh_copy()
        # a fresh copy materialises on first use and compiles each statement once; do both
        # here, as a long-running desk already has, so decisions are timed in steady state
        db.user(principal_id), db.order("#W0000000"), db.product("0")
        tools, checks = desk_chain(db, engine)
        principal = Principal(principal_id, "retail", ("customer",))
        return cls(principal, db, tools, checks, [Message("user", opening)])

    def next_call(self, name: str, arguments: Mapping[str, Any]) -> ToolCall:
        """A call with the next call id of this conversation."""
        self.calls += 1
        return ToolCall(f"call-{self.calls}", name, dict(arguments))

    def context(
        self, messages: Sequence[Message] | None = None, confirmed: PendingAction | None = None
    ) -> GuardContext:
        """What the checks see: the customer, the desk agent, its tools, the conversation
        (default: as it stands) and the pending action the customer confirmed, if any."""
        return GuardContext(
            "eval",
            self.principal,
            RETAIL_AGENT,
            self.tools,
            {},
            messages=tuple(self.messages if messages is None else messages),
            confirmed=confirmed,
        )

    def propose(
        self,
        call: ToolCall,
        reply: str | None = CONFIRM_TEXT,
        *,
        commit: bool = True,
        confirmed: PendingAction | None = None,
        notes: Sequence[str] = (),
    ) -> Proposal:
        """Put the call through the chain as the run loop would after the model proposed it.

        A `confirm` verdict holds the call as a pending action (the runtime's summary); the
        customer answers `reply` (None: no answer yet), which the consent classifier reads; on
        a yes the stored call passes the chain again, confirmed. `confirmed` is a pending
        action the customer confirmed earlier in this turn; `notes` are system messages (e.g.
        retrieved passages) put before the proposal. With `commit` false the conversation is
        left as it was (a probe)."""
        call = as_received(self.tools, call)
        messages = self.messages if commit else list(self.messages)
        messages.extend(Message("system", note) for note in notes)
        messages.append(Message("assistant", "", (call,)))
        first = run_tool_checks(self.checks, self.context(messages, confirmed), call)
        if first.final.effect is not Effect.CONFIRM or reply is None:
            return Proposal(call, (first,))
        pending = pending_action(call, f"pa-{call.id}")
        asked = {"code": ErrorCode.CONFIRMATION_REQUIRED.value, "retryable": False}
        messages.append(
            Message("tool", _compact({"ok": False, "error": asked}), tool_call_id=call.id)
        )
        messages.append(Message("assistant", pending.summary))
        messages.append(Message("user", reply))
        tool = self.tools.get(call.name)
        targets = action_targets(call.name, tool.spec.resources if tool else None)
        reading = classify_reply(reply, action=action_verb(call.name), targets=targets)
        if not reading.confirmed:
            return Proposal(call, (first,), reading)
        stored = pending.call()
        messages.append(Message("assistant", "", (stored,)))
        second = run_tool_checks(self.checks, self.context(messages, pending), stored)
        return Proposal(stored, (first, second), reading)

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
        self.messages.append(Message("tool", _compact(outcome.observation()), tool_call_id=call.id))
        return outcome

    def step(self, action: Mapping[str, Any]) -> tuple[Proposal, ToolOutcome]:
        """A gold action as a compliant agent proposes it (the customer says yes when asked);
        it runs even when blocked, so the rest of the sequence meets the gold records."""
        call = self.next_call(str(action["name"]), action["arguments"])
        proposal = self.propose(call)
        if proposal.allowed:
            return proposal, self.execute(proposal.call)
        forced = self.next_call(call.name, call.arguments)
        self.messages.append(Message("assistant", "", (forced,)))
        return proposal, self.execute(forced)

    @contextmanager
    def patched(self, records: Sequence[tuple[str, Record]]) -> Iterator[None]:
        """Records ("user" | "order", document) put in the store for the duration, then the
        originals put back: a probe of a value at a limit the data does not happen to hold."""
        saved: list[tuple[str, Record]] = []
        for kind, record in records:
            key = str(record[f"{kind}_id"])
            original = self.db.user(key) if kind == "user" else self.db.order(key)
            assert original is not None
            saved.append((kind, original))
        self._put(records)
        try:
            yield
        finally:
            self._put(saved)

    def _put(self, records: Sequence[tuple[str, Record]]) -> None:
        with self.db.transaction() as uow:
            for kind, record in records:
                (uow.put_user if kind == "user" else uow.put_order)(record)

    def close(self) -> None:
        """Discard this conversation's copy of the store."""
        self.db.engine.dispose()


def _compact(observation: Mapping[str, Any]) -> str:
    return json.dumps(observation, separators=(",", ":"), ensure_ascii=False)
