"""Deciding on an action's slice (its policies, the context attributes they read) gives exactly
the decision of the whole set with the whole context: on every request the retail evaluation
and the packaged cases make, on generated variants of them, and on policies written to break
the slicing (`has`, nested reads, the context used whole, groups, soft forbids, text Cedar
refuses, evaluation errors)."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cedarpy
import pytest

from tether.core.types import Effect
from tether.domains.retail.evaluation import evaluate_policies
from tether.domains.retail.pack import RETAIL
from tether.domains.retail.policy import policy_dir, retail_engine
from tether.domains.retail.replay import load_tasks
from tether.policy.cases import run_case_dir
from tether.policy.engine import PolicyDecision, PolicyEngine, PolicyRequest, entity, ref
from tether.policy.schema import LONG_MAX
from tether.policy.slices import context_reads
from tether.policy.source import LoadedPolicies, PolicyMeta, load_schema
from tether.sdk.cases import case_world
from tether.store.runs import RunStore

Recorded = list[tuple[PolicyEngine, PolicyRequest]]


def whole(engine: PolicyEngine) -> PolicyEngine:
    """An engine over the same policies that decides every request on the whole set."""
    reference = PolicyEngine(engine.policies)
    reference._slices = None
    return reference


def same(engine: PolicyEngine, requests: list[PolicyRequest]) -> list[PolicyDecision]:
    """Decide each request sliced and whole; fail on the first that differs."""
    reference = whole(engine)
    decisions = []
    for request in requests:
        sliced = engine.decide(request)
        assert sliced == reference.decide(request), (request, sliced)
        decisions.append(sliced)
    return decisions


# -- the retail desk: every request its evaluation and its cases make, and variants ----------


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    """The requests a spread of the policy evaluation's tasks and every packaged case decide."""
    found: Recorded = []
    original = PolicyEngine.decide

    def record(self: PolicyEngine, request: PolicyRequest) -> PolicyDecision:
        found.append((self, request))
        return original(self, request)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(PolicyEngine, "decide", record)
        evaluate_policies(load_tasks()[::6])
        store = RunStore.open(f"sqlite:///{tmp_path_factory.mktemp('cases') / 'c.db'}")
        try:
            results = list(run_case_dir(policy_dir() / "cases", case_world(RETAIL, store)))
        finally:
            store.close()
    assert results and all(r.ok for r in results)
    return found


def test_the_recorded_requests_cover_every_effect_and_many_actions(recorded: Recorded) -> None:
    decisions = [engine.decide(request) for engine, request in recorded]
    assert {d.effect for d in decisions} == set(Effect)
    assert len({request.action for _, request in recorded}) >= 12
    assert any(request.action == "answer" for _, request in recorded)


def test_every_recorded_request_decides_as_on_the_whole_set(recorded: Recorded) -> None:
    by_engine: dict[int, tuple[PolicyEngine, list[PolicyRequest]]] = {}
    for engine, request in recorded:
        by_engine.setdefault(id(engine), (engine, []))[1].append(request)
    for engine, requests in by_engine.values():
        same(engine, requests)


REFS = ("Customer", "PaymentMethod", "Item")
ALTERNATIVES: dict[str, list[Any]] = {
    "authenticated": [True, False],
    "authMethod": ["none", "lookup:email", "x\udc80"],
    "confirmed": [True, False],
    "confirmation": ["", "the customer confirmed", "\ud800"],
    "resourceExists": [True, False],
    "reason": ["no longer needed", "ordered by mistake", "other", "late \udfff", "😀"],
    "amountCents": [0, 50_000, 50_001, -1, LONG_MAX],
    "chargeCents": [0, 1, 10**6, LONG_MAX],
    "untrustedArguments": [[], ["order_id"], ["\udc80"]],
}


def variants(request: PolicyRequest, rng: random.Random, n: int) -> Iterator[PolicyRequest]:
    """`n` requests that change one to three facts of `request`, and one per other action."""
    people = [request.principal[1], "someone_else", "x\udc80"]
    methods = [e["uid"]["id"] for e in request.entities if e["uid"]["type"] == "PaymentMethod"]
    items = [e["uid"]["id"] for e in request.entities if e["uid"]["type"] == "Item"]
    choices: dict[str, list[Any]] = {
        **ALTERNATIVES,
        "lookupCustomer": [None, *(ref("Customer", p) for p in people)],
        "paymentMethod": [None, *(ref("PaymentMethod", m) for m in [*methods, "gift_card_0"])],
        "newItems": [[], [ref("Item", i) for i in items], [ref("Item", "\udc80")]],
        "swap": [
            {**request.context["swap"], "sameProduct": flag, "allAvailable": other}
            for flag in (True, False)
            for other in (True, False)
        ],
        "counters": [{**request.context["counters"], "orderItemModifications": k} for k in (0, 1)],
        "outgoing": [
            {**request.context["outgoing"], "cardNumbers": c, "foreignEmails": f}
            for c in (0, 1)
            for f in (0, 2)
        ],
    }
    for _ in range(n):
        context = dict(request.context)
        for name in rng.sample(sorted(choices), rng.randint(1, 3)):
            value = rng.choice(choices[name])
            if value is None:
                context.pop(name, None)
            else:
                context[name] = value
        yield PolicyRequest(
            request.principal, request.action, request.resource, context, request.entities
        )
    engine = retail_engine()
    for action, shape in engine.schema.actions.items():
        if action == request.action or not shape.resources:
            continue  # a group is refused before slicing; the cases above cover it
        kind = request.resource[0] if request.resource[0] in shape.resources else "Order"
        resource = request.resource if kind == request.resource[0] else (kind, "#W0000000")
        yield PolicyRequest(request.principal, action, resource, request.context, request.entities)


def test_variants_of_the_recorded_requests_decide_as_on_the_whole_set(
    recorded: Recorded,
) -> None:
    rng = random.Random(20261204)
    unique: dict[str, PolicyRequest] = {}
    for _, request in recorded:
        key = json.dumps([request.action, request.context, list(request.entities)], default=str)
        unique.setdefault(key, request)
    engine = retail_engine()
    requests = [v for r in unique.values() for v in variants(r, rng, 6)]
    decisions = same(engine, requests)
    assert len(decisions) > 3000
    assert {d.effect for d in decisions} == set(Effect)
    assert sum(d.invalid_request for d in decisions) > 100  # text Cedar refuses, wrong types
    assert any(d.errors and not d.invalid_request for d in decisions)  # evaluation errors


def test_the_retail_slices_leave_out_what_their_policies_cannot_read() -> None:
    slices = retail_engine()._slices
    assert slices is not None
    answer, lookup = slices.get("answer"), slices.get("find_user_id_by_email")
    assert answer is not None and lookup is not None
    assert answer.keep == {"outgoing"}
    assert answer.policy_ids == {"desk-tools", "no-card-numbers-out", "no-foreign-contact-details"}
    assert lookup.keep == {"lookupCustomer"}  # read only through `context has`, and after it
    refund = slices.get("return_delivered_order_items")
    assert refund is not None and refund.keep is not None
    assert "amountCents" in refund.keep  # read only by the house rule's @escalate forbid


# -- policies written to break the slicing -------------------------------------------------

SCHEMA = """
entity User;
entity Doc = { owner: User };
type Inner = { b: Long, c: String };
type Ctx = {
  flag?: Bool,
  a: Inner,
  s: String,
  n: Long,
  note: String,
  tags: Set<String>,
  who?: User,
  price?: decimal,
};
action write;
action read, erase appliesTo { principal: User, resource: Doc, context: Ctx };
action edit in [write] appliesTo { principal: User, resource: Doc, context: Ctx };
action publish in [edit] appliesTo { principal: User, resource: Doc, context: Ctx };
"""
PERMIT = '@id("open")\npermit (principal, action, resource);\n'


def loaded(schema_text: str, policies: str, tmp_path: Path) -> LoadedPolicies:
    """A policy set as the loader builds it, but not checked against the schema, so that a
    policy Cedar's validator would refuse (the context used whole) can still be decided."""
    schema_file = tmp_path / "s.cedarschema"
    schema_file.write_text(schema_text)
    est = json.loads(cedarpy.policies_to_json_str(policies))
    static: dict[str, Any] = {}
    meta: dict[str, PolicyMeta] = {}
    for line, policy in enumerate(est["staticPolicies"].values()):
        notes = policy["annotations"]
        pid = notes["id"]
        static[pid] = policy
        meta[pid] = PolicyMeta(
            id=pid,
            effect=policy["effect"],
            reason=notes.get("escalate") or notes.get("reason") or pid,
            escalate="escalate" in notes,
            approver="supervisor",
            expires_in_s=60,
            file="p.cedar",
            line=line,
        )
    hard = {k: p for k, p in static.items() if not meta[k].soft}

    def policy_set(chosen: dict[str, Any]) -> cedarpy.PolicySet:
        document = {"staticPolicies": chosen, "templates": {}, "templateLinks": []}
        return cedarpy.PolicySet.from_json_str(json.dumps(document))

    return LoadedPolicies(
        policy_set(static), load_schema(schema_file), meta, ("p.cedar",), policy_set(hard)
    )


def ctx(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"a": {"b": 1, "c": "x"}, "s": "", "n": 0, "note": "", "tags": []}
    for name, value in changes.items():
        if value is None:
            base.pop(name, None)
        else:
            base[name] = value
    return base


DOC = entity("Doc", "d", owner=ref("User", "ann"))


def req(action: str = "read", **changes: Any) -> PolicyRequest:
    return PolicyRequest(("User", "ann"), action, ("Doc", "d"), ctx(**changes), [DOC])


def grid() -> list[PolicyRequest]:
    """Requests over every action that vary every fact, the odd ones included."""
    contexts: list[dict[str, Any]] = [
        {},
        {"flag": True},
        {"flag": False},
        {"a": {"b": 5, "c": "secret"}},
        {"a": {"b": LONG_MAX, "c": ""}},
        {"s": "top secret"},
        {"s": "\udc80"},
        {"n": 11},
        {"n": LONG_MAX},
        {"note": "stop"},
        {"note": "stop \ud800"},
        {"tags": ["x", "\udfff"]},
        {"who": ref("User", "ann")},
        {"who": ref("User", "bob")},
        {"who": ref("User", "\udc80")},
        {"price": {"__extn": {"fn": "decimal", "arg": "1.5"}}},
        {"price": {"__extn": {"fn": "decimal", "arg": "not a number"}}},
        {"s": 3},  # a wrong type: refused before any slicing
    ]
    return [req(action, **c) for action in ("read", "erase", "edit", "publish") for c in contexts]


ATTACKS = {
    "only tested with has": (
        '@id("flagged")\n@reason("flagged")\nforbid (principal, action, resource)'
        " when { context has flag };",
        req(flag=False),
        req(),
    ),
    "a nested attribute": (
        '@id("big-b")\n@reason("b")\nforbid (principal, action, resource) when { context.a.b > 3 };',
        req(a={"b": 5, "c": ""}),
        req(),
    ),
    "a string matched with like": (
        '@id("secret")\n@reason("s")\nforbid (principal, action, resource)'
        ' when { context.s like "*secret*" };',
        req(s="top secret"),
        req(s="public"),
    ),
    "the context compared whole": (
        '@id("exact")\n@reason("e")\nforbid (principal, action, resource) when { context == '
        '{a: {b: 1, c: "x"}, s: "", n: 0, note: "", tags: []} };',
        req(),
        req(note="other"),
    ),
    "the context in a contains": (
        '@id("listed")\n@reason("l")\nforbid (principal, action, resource) when { '
        '[{a: {b: 1, c: "x"}, s: "", n: 0, note: "", tags: []}].contains(context) };',
        req(),
        req(note="other"),
    ),
    "the context inside a record": (
        '@id("wrapped")\n@reason("w")\nforbid (principal, action, resource)'
        " when { {inner: context}.inner.note == context.s };",
        req(),
        req(note="other"),
    ),
    "a choice between reads": (
        '@id("owner-or-n")\n@reason("o")\nforbid (principal, action, resource)'
        " when { if context has who then context.who != principal else context.n > 10 };",
        req(n=11),
        req(who=ref("User", "ann"), n=11),
    ),
    "a set read with contains": (
        '@id("tagged")\n@reason("t")\nforbid (principal, action, resource)'
        ' when { context.tags.contains("x") };',
        req(tags=["x"]),
        req(),
    ),
    "a read only under an action group": (
        '@id("stop-writes")\n@reason("stop")\nforbid (principal, action in Action::"write", '
        'resource) when { context.note == "stop" };',
        req("publish", note="stop"),
        req("read", note="stop"),
    ),
}


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_a_policy_reading_the_context_its_way_decides_as_on_the_whole_set(
    name: str, tmp_path: Path
) -> None:
    text, denied, allowed = ATTACKS[name]
    engine = PolicyEngine(loaded(SCHEMA, PERMIT + text, tmp_path))
    assert engine.decide(denied).effect is Effect.DENY  # the read matters: a slice that lost
    assert engine.decide(allowed).effect is Effect.ALLOW  # it would decide these alike
    same(engine, [denied, allowed, *grid()])


def test_an_attribute_only_an_escalating_forbid_reads_is_kept(tmp_path: Path) -> None:
    policies = (
        '@id("small")\npermit (principal, action, resource) when { context.n < 100 };\n'
        '@id("review")\n@escalate("a large n needs review")\n'
        "forbid (principal, action, resource) when { context.n > 10 };"
    )
    engine = PolicyEngine(loaded(SCHEMA, policies, tmp_path))
    assert engine.decide(req(n=50)).effect is Effect.ESCALATE  # the hard set still permits
    assert engine.decide(req(n=150)).effect is Effect.DENY  # nothing permits it anyway
    assert engine.decide(req(n=5)).effect is Effect.ALLOW
    same(engine, grid())


def test_an_unread_attribute_with_text_cedar_refuses_is_refused_as_before(
    tmp_path: Path,
) -> None:
    engine = PolicyEngine(loaded(SCHEMA, PERMIT, tmp_path))
    part = engine._slices.get("read") if engine._slices is not None else None
    assert part is not None and part.keep == {"price"}  # an extension value is never left out
    for request in (req(note="\udc80"), req(who=ref("User", "\ud800"))):
        decision = engine.decide(request)
        assert decision.invalid_request
        assert decision.errors[0].startswith("failed to build request"), decision.errors
        assert decision == whole(engine).decide(request)
    bad_price = req(price={"__extn": {"fn": "decimal", "arg": "not a number"}})
    assert engine.decide(bad_price).invalid_request
    assert engine.decide(req(note="😀")).effect is Effect.ALLOW
    same(engine, grid())


def test_an_evaluation_error_is_reported_as_the_whole_set_reports_it(tmp_path: Path) -> None:
    policies = (
        PERMIT + '@id("sum")\n@reason("sum")\nforbid (principal, action, resource)'
        " when { context.n + context.a.b > 0 };"
    )
    engine = PolicyEngine(loaded(SCHEMA, policies, tmp_path))
    decision = engine.decide(req(n=LONG_MAX))
    assert decision.effect is Effect.DENY and decision.errors and not decision.invalid_request
    same(engine, grid())


def test_a_set_with_a_template_is_not_sliced(tmp_path: Path) -> None:
    policies = loaded(SCHEMA, PERMIT, tmp_path)
    text = PERMIT + '@id("t")\nforbid (principal == ?principal, action, resource);'
    templated = LoadedPolicies(
        cedarpy.PolicySet.from_str(text), policies.schema, policies.meta, policies.files
    )
    engine = PolicyEngine(templated)
    assert engine._slices is not None and engine._slices.get("read") is None


def test_the_context_used_any_other_way_than_by_attribute_keeps_all_of_it() -> None:
    def reads(condition: str) -> frozenset[str] | None:
        text = f"permit (principal, action, resource) when {{ {condition} }};"
        node = cedarpy.PolicySet.from_str(text).to_pst()
        return context_reads(next(iter(node.static_policies.values())))

    assert reads("context.a.b > 1 && context has flag") == {"a", "flag"}
    assert reads("context has who.owner") == {"who"}
    assert reads('context["s"] == "x"') == {"s"}
    assert reads('principal.name == "x"') == frozenset()
    for whole_use in (
        "context == {}",
        "[context].contains(context)",
        "{c: context}.c.a == 1",
        "(if true then context else context).a == 1",
        'context like "*"',
        "context has a && context",
    ):
        assert reads(whole_use) is None, whole_use
