"""The decision point: permit, deny, escalate, default deny, fail closed, and the Verdict."""

from __future__ import annotations

from pathlib import Path

import pytest

from tether.core.errors import ErrorCode
from tether.core.guard import GuardContext
from tether.core.types import Effect, Principal, ToolCall
from tether.domains.retail.desk import RETAIL_AGENT
from tether.policy.check import approval_request, argument_hash, to_verdict
from tether.policy.engine import PolicyEngine, PolicyRequest, entity, ref
from tether.tools.registry import ToolRegistry

SCHEMA = """
entity User;
entity Doc = { owner: User, size: Long };
type Ctx = { signed: Bool };
action read appliesTo { principal: User, resource: Doc, context: Ctx };
action write appliesTo { principal: User, resource: Doc, context: Ctx };
action erase appliesTo { principal: User, resource: Doc, context: Ctx };
"""
POLICIES = """
@id("readers")
permit (principal, action in [Action::"read", Action::"write"], resource);

@id("owner-writes:only")
@reason("only the owner writes")
forbid (principal, action == Action::"write", resource) unless { resource.owner == principal };

@id("big-writes")
@escalate("a big write needs a second pair of eyes")
@approver("editor")
@expires_in("600")
forbid (principal, action == Action::"write", resource) when { resource.size > 100 };

@id("unsigned-writes")
@escalate("an unsigned write needs a look")
forbid (principal, action == Action::"write", resource) unless { context.signed };
"""


@pytest.fixture
def engine(tmp_path: Path) -> PolicyEngine:
    (tmp_path / "s.cedarschema").write_text(SCHEMA)
    (tmp_path / "p.cedar").write_text(POLICIES)
    return PolicyEngine.from_files(tmp_path / "s.cedarschema", [tmp_path / "p.cedar"])


def request(action: str, owner: str = "ann", size: int = 1, signed: bool = True) -> PolicyRequest:
    doc = entity("Doc", "d1", owner=ref("User", owner), size=size)
    return PolicyRequest(("User", "ann"), action, ("Doc", "d1"), {"signed": signed}, [doc])


def test_permit_names_the_permitting_policy(engine: PolicyEngine) -> None:
    decision = engine.decide(request("read"))
    assert decision.effect is Effect.ALLOW and decision.policy_ids == ["readers"]


def test_nothing_permits_means_deny(engine: PolicyEngine) -> None:
    decision = engine.decide(request("erase"))
    assert decision.effect is Effect.DENY and decision.determining == ()
    verdict = to_verdict("policy", decision, request("erase"), 0.1)
    assert verdict.reasons[0].code is ErrorCode.POLICY_DENIED
    assert "no policy permits erase" in verdict.reasons[0].message


def test_an_annotated_forbid_escalates_and_a_plain_one_outranks_it(engine: PolicyEngine) -> None:
    big = engine.decide(request("write", size=500))
    assert big.effect is Effect.ESCALATE and big.rules == ["big-writes"]
    both = engine.decide(request("write", size=500, signed=False))
    assert both.effect is Effect.ESCALATE and both.policy_ids == ["big-writes", "unsigned-writes"]
    denied = engine.decide(request("write", owner="bob", size=500))
    assert denied.effect is Effect.DENY
    assert denied.policy_ids == ["owner-writes:only", "big-writes"]
    assert denied.rules == ["owner-writes", "big-writes"]


def test_the_verdict_lists_reasons_and_an_escalation_carries_its_approval(
    engine: PolicyEngine,
) -> None:
    req = request("write", size=500, signed=False)
    decision = engine.decide(req)
    call = ToolCall("c1", "write", {"doc": "d1", "text": "hello"})
    ctx = GuardContext("run-1", Principal("ann"), RETAIL_AGENT, ToolRegistry(), {})
    approval = approval_request(ctx, call, decision)
    verdict = to_verdict("policy", decision, req, 0.25, approval)
    assert verdict.effect is Effect.ESCALATE
    assert [r.code for r in verdict.reasons] == [ErrorCode.POLICY_ESCALATED] * 2
    assert verdict.reasons[0].message == "a big write needs a second pair of eyes [big-writes]"
    facts = verdict.facts
    assert facts["policies"] == ["big-writes", "unsigned-writes"]
    assert facts["request"]["resource"] == "Doc::d1"
    assert facts["determining"][0]["source"] == "p.cedar:9"
    assert facts["approval"] == {
        "run_id": "run-1",
        "principal": "ann",
        "tool": "write",
        "arguments": {"doc": "d1", "text": "hello"},
        "argument_hash": argument_hash("write", {"text": "hello", "doc": "d1"}),
        "policies": ["big-writes", "unsigned-writes"],
        "reasons": ["a big write needs a second pair of eyes", "an unsigned write needs a look"],
        "approver_role": "editor",
        "approver_roles": ["editor", "supervisor"],
        "expires_in_s": 600,
    }


def test_argument_hash_binds_the_exact_arguments() -> None:
    same = argument_hash("write", {"a": 1, "b": [1, 2]})
    assert same == argument_hash("write", {"b": [1, 2], "a": 1})
    assert same != argument_hash("write", {"a": 1, "b": [2, 1]})
    assert same != argument_hash("erase", {"a": 1, "b": [1, 2]})
    assert same.startswith("sha256:")


def test_an_evaluation_error_fails_closed(engine: PolicyEngine) -> None:
    # the owner attribute is missing, so the owner forbid cannot be evaluated
    broken = PolicyRequest(
        ("User", "ann"), "write", ("Doc", "d1"), {"signed": True}, [entity("Doc", "d1", size=1)]
    )
    decision = engine.decide(broken)
    assert decision.effect is Effect.DENY and decision.errors
    verdict = to_verdict("policy", decision, broken, 0.1)
    assert verdict.effect is Effect.DENY
    assert "could not be evaluated" in verdict.reasons[0].message


def test_requests_are_checked_against_the_schema_when_asked(tmp_path: Path) -> None:
    (tmp_path / "s.cedarschema").write_text(SCHEMA)
    (tmp_path / "p.cedar").write_text(POLICIES)
    strict = PolicyEngine.from_files(
        tmp_path / "s.cedarschema", [tmp_path / "p.cedar"], validate_requests=True
    )
    odd = PolicyRequest(("User", "ann"), "read", ("Doc", "d1"), {"signed": "yes"}, [])
    decision = strict.decide(odd)
    assert decision.effect is Effect.DENY and decision.errors
    unknown_action = strict.decide(request("fly"))
    assert unknown_action.effect is Effect.DENY and unknown_action.errors


def test_malformed_entities_are_refused_not_raised(engine: PolicyEngine) -> None:
    bad = PolicyRequest(("User", "ann"), "read", ("Doc", "d1"), {"signed": True}, [{"uid": 3}])
    decision = engine.decide(bad)
    assert decision.effect is Effect.DENY and decision.errors


class _CountingActions:
    """Stands in for the engine's base entity set, counting the entity sets parsed onto it."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.parsed: list[str] = []

    def with_added_json_str(self, text: str) -> object:
        self.parsed.append(text)
        return self.inner.with_added_json_str(text)  # type: ignore[attr-defined]


def test_an_entity_set_is_parsed_once_and_a_changed_one_is_parsed_anew(
    engine: PolicyEngine,
) -> None:
    counting = _CountingActions(engine._actions)
    engine._actions = counting  # type: ignore[assignment]
    effects = [
        engine.decide(request("write", size=size, owner=owner)).effect
        for size, owner in [(1, "ann"), (500, "ann"), (1, "ann"), (500, "ann"), (1, "bob")]
    ]
    # a decision follows the entities it is given, whatever was decided before
    assert effects == [Effect.ALLOW, Effect.ESCALATE, Effect.ALLOW, Effect.ESCALATE, Effect.DENY]
    assert len(counting.parsed) == 3  # (1, ann), (500, ann) and (1, bob): each parsed once


def test_the_parsed_entity_sets_stay_bounded(
    engine: PolicyEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tether.policy.engine.PARSED_ENTITY_SETS", 4)
    counting = _CountingActions(engine._actions)
    engine._actions = counting  # type: ignore[assignment]
    for size in range(10):
        assert engine.decide(request("read", size=size)).effect is Effect.ALLOW
    assert len(engine._parsed) == 4
    engine.decide(request("read", size=0))  # evicted long ago: parsed again
    engine.decide(request("read", size=9))  # among the latest: not parsed again
    assert len(counting.parsed) == 11


def test_entities_cedar_refuses_are_refused_every_time(tmp_path: Path) -> None:
    (tmp_path / "s.cedarschema").write_text(SCHEMA)
    (tmp_path / "p.cedar").write_text(POLICIES)
    unchecked = PolicyEngine.from_files(
        tmp_path / "s.cedarschema", [tmp_path / "p.cedar"], validate_requests=False
    )
    doc = {"uid": {"type": "Doc", "id": "d1"}, "attrs": 5, "parents": []}  # attrs: not a record
    bad = PolicyRequest(("User", "ann"), "read", ("Doc", "d1"), {"signed": True}, [doc])
    for _ in range(2):  # a refused set is not kept: the second request is refused as well
        decision = unchecked.decide(bad)
        assert decision.effect is Effect.DENY and decision.invalid_request and decision.errors
    assert unchecked._parsed == {}
    assert unchecked.decide(request("read")).effect is Effect.ALLOW
