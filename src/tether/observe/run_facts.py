"""What the business KPIs read of one ended run (`RunFacts`), and the per-run definitions every
reader of them shares: a run's model cost, and the audit events it lacks.

The business report, the drift monitors and a rollout's arms all read runs through `run_facts`,
so that cost, compliance incidents and audit completeness mean the same wherever they appear.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tether.observe.prices import PriceTable, token_counts

BLOCKING = ("deny", "escalate")

Entity = tuple[str, str]  # (resource kind, resource id)


@dataclass(frozen=True)
class ToolFacts:
    """What a release (or the registry) says of a tool: its risk and the arguments that name
    a resource (argument -> resource kind)."""

    risk: str = "read"
    resources: Mapping[str, str] = field(default_factory=dict)


ToolLookup = Callable[[str], ToolFacts | None]


@dataclass
class RunFacts:
    """What the business KPIs (and a rollout's arms) need of one ended run."""

    id: str
    release: str | None
    principal: str
    created_at: float
    ended_at: float
    decision: str | None
    tokens: Counter[tuple[str, str]] = field(default_factory=Counter)  # (model, in|out) -> n
    incidents: list[tuple[str, str]] = field(default_factory=list)  # (rule, effect)
    entities: set[Entity] = field(default_factory=set)
    audit_expected: Counter[str] = field(default_factory=Counter)  # event kind -> steps
    waited_for_approval: bool = False
    cited: list[tuple[str, str]] = field(default_factory=list)  # (document uri, version)
    tool_calls: int = 0
    tool_errors: int = 0
    verified: bool = False  # the claims check judged a proposed answer
    stopped_by_verification: bool = False  # ... and stopped it (deny or escalate)


def expected_event(kind: str, name: str, data: Mapping[str, Any]) -> str | None:
    """The audit event a recorded step must have in the chain, or None for a step that gives
    rise to none (retrievals, model turns, allowed verdicts, read-only tool calls)."""
    if kind == "scope":
        return "run.started"
    if kind == "guard" and data.get("effect") in BLOCKING:
        return f"guard.{data['effect']}"
    if kind == "tool" and data.get("risk", "read") != "read":
        return "tool.write"
    if kind == "confirmation":
        return f"confirmation.{data.get('event') or name}"
    if kind == "approval":
        return f"approval.{name}"
    if kind == "decision":
        return "run.decided"
    return None


def deciding_rules(data: Mapping[str, Any]) -> list[str]:
    """The rules behind a blocking guard step: the ids of the policies that determined its
    deciding verdict, else that check and its reason codes (`ownership:PERMISSION_DENIED`)."""
    verdicts = [v for v in data.get("verdicts") or () if isinstance(v, Mapping)]
    decided = data.get("decided_by")
    verdict = next((v for v in verdicts if v.get("check") == decided), None)
    if verdict is None:
        verdict = next((v for v in reversed(verdicts) if v.get("effect") != "allow"), {})
    determining = (verdict.get("facts") or {}).get("determining")
    if isinstance(determining, list) and determining:
        return sorted({str(d.get("id")) for d in determining if isinstance(d, Mapping)})
    check = str(verdict.get("check") or decided or "guard")
    codes = sorted({str(r.get("code")) for r in verdict.get("reasons") or () if r.get("code")})
    return [f"{check}:{code}" for code in codes] or [check]


def _named(arguments: object, facts: ToolFacts | None) -> set[Entity]:
    if facts is None or not isinstance(arguments, Mapping):
        return set()
    found = set()
    for argument, kind in facts.resources.items():
        value = arguments.get(argument)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            found.add((str(kind), str(value)))
    return found


def _claims_check(facts: RunFacts, data: Mapping[str, Any]) -> None:
    """A proposed answer's guard step: whether the claims check judged it, and stopped it."""
    for verdict in data.get("verdicts") or ():
        if isinstance(verdict, Mapping) and verdict.get("check") == "claims":
            facts.verified = True
            if verdict.get("effect") in BLOCKING:
                facts.stopped_by_verification = True


def run_facts(
    header: Mapping[str, Any],
    steps: Iterable[tuple[str, str, Mapping[str, Any]]],
    tools: ToolLookup,
) -> RunFacts:
    """A run's facts from its header (id, release, principal, created_at, ended_at,
    decision) and its steps as (kind, name, data), in order."""
    facts = RunFacts(
        str(header["id"]),
        header.get("release"),
        str(header["principal"]),
        float(header["created_at"]),
        float(header["ended_at"]),
        header.get("decision"),
    )
    evidence: dict[str, tuple[str, str]] = {}
    citations: list[str] = []
    for kind, name, data in steps:
        event = expected_event(kind, name, data)
        if event is not None:
            facts.audit_expected[event] += 1
        if kind == "model_turn":
            output = data.get("output") or {}
            model = str(output.get("model") or name)
            tokens_in, tokens_out = token_counts(output.get("usage") or {})
            facts.tokens[model, "input"] += tokens_in
            facts.tokens[model, "output"] += tokens_out
        elif kind == "guard" and isinstance(data.get("call"), Mapping):
            call = data["call"]
            tool = tools(str(call.get("name", name)))
            effect = data.get("effect")
            if effect in BLOCKING and tool is not None and tool.risk != "read":
                facts.incidents.extend((rule, str(effect)) for rule in deciding_rules(data))
            if effect != "deny":  # a call refused outright dealt with nothing
                facts.entities |= _named(call.get("arguments"), tool)
        elif kind == "guard" and name == "answer":
            _claims_check(facts, data)
        elif kind == "tool":
            facts.tool_calls += 1
            facts.tool_errors += not data.get("ok", True)
            facts.entities |= _named(data.get("arguments"), tools(str(data.get("tool", name))))
        elif kind == "approval":
            facts.waited_for_approval = True
        elif kind == "retrieval":
            for item in data.get("evidence") or ():
                if isinstance(item, Mapping) and item.get("version"):
                    evidence[str(item.get("id"))] = (str(item["source"]), str(item["version"]))
        elif kind == "decision":
            citations = [str(c) for c in (data.get("decision") or {}).get("citations") or ()]
    facts.cited = [evidence[c] for c in dict.fromkeys(citations) if c in evidence]
    return facts


def tokens_cost(
    tokens: Mapping[tuple[str, str], int], prices: PriceTable
) -> tuple[float, list[str]]:
    """What `tokens` ((model, input|output) -> n) cost at `prices`, and the models with tokens
    but no price (their tokens are left out of the cost, never costed as zero)."""
    total, unpriced = 0.0, []
    for model in sorted({m for m, _ in tokens}):
        spent_in, spent_out = tokens.get((model, "input"), 0), tokens.get((model, "output"), 0)
        cost = prices.cost(model, spent_in, spent_out)
        if cost is not None:
            total += cost
        elif spent_in or spent_out:
            unpriced.append(model)
    return total, unpriced


def run_cost(run: RunFacts, prices: PriceTable) -> float | None:
    """A run's model cost, or None when some of its tokens have no price."""
    total, unpriced = tokens_cost(run.tokens, prices)
    return None if unpriced else total


def audit_gaps(run: RunFacts, recorded: Mapping[str, int]) -> dict[str, int]:
    """The audit events (kind -> how many) a run's steps gave rise to that are not in the chain;
    `recorded` holds the run's events there by kind. Empty: the run is audited completely."""
    return {
        k: n - recorded.get(k, 0) for k, n in run.audit_expected.items() if recorded.get(k, 0) < n
    }
