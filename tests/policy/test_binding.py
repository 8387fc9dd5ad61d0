"""The declarative binding over a small lending desk: neutral defaults from the schema, facts
from arguments, records and computations, and the missing-data rule, which never invents a
permissive value. Every test runs the real policy check and asserts the effect and its code."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from tether.core.errors import ErrorCode, TetherError
from tether.core.guard import GuardContext
from tether.core.types import Agent, Effect, ModelTurn, Principal, ToolCall, TurnKind, Verdict
from tether.policy.binding import (
    PLACEHOLDER_ID,
    ActionBinding,
    DeclarativeBinding,
    FactSource,
    Subject,
    fact,
)
from tether.policy.check import PolicyAnswerCheck, PolicyCheck
from tether.policy.engine import PolicyEngine
from tether.tools.registry import ToolRegistry

FIXTURES = Path(__file__).parent / "fixtures"
AGENT = Agent("lending-desk", "", ("borrow_book", "renew_loan", "search_catalog"))

MEMBERS: dict[str, dict[str, Any]] = {
    "m1": {"tier": "standard", "fines_euros": 0.0},
    "m2": {"tier": "standard", "fines_euros": 3.5},
    "m3": {"fines_euros": 0.0},  # a record without the tier its entity type requires
}
BOOKS: dict[str, dict[str, Any]] = {
    "b1": {"title": "Dune", "restricted": False, "copies": 2},
    "b2": {"title": "Necronomicon", "restricted": True, "copies": 1},
    "b3": {"title": "Emma", "restricted": False, "copies": 0},
}
LOANS: dict[str, dict[str, Any]] = {
    "l1": {"borrower": "m1", "book": "b1", "renewals": 0, "due_in_days": 3},
    "l2": {"borrower": "m2", "book": "b3", "renewals": 0},
    "l3": {"borrower": "m1", "book": "b2", "renewals": 2, "due_in_days": 1},
}
HOLDS = {"b3": 2}


def member(member_id: str) -> Mapping[str, Any] | None:
    """A member record, with the entity's `finesCents` derived the way a domain adapter would."""
    found = MEMBERS.get(member_id)
    if found is None:
        return None
    return {**found, "finesCents": round(found["fines_euros"] * 100)}


def to_cents(euros: float) -> int:
    return round(euros * 100)


def holds(source: FactSource) -> int:
    loan = source.record("loan", str(source.arguments.get("loan_id")))
    return HOLDS.get(str(loan["book"]), 0) if loan else 0


@pytest.fixture(scope="module")
def engine() -> PolicyEngine:
    return PolicyEngine.from_files(FIXTURES / "library.cedarschema", [FIXTURES / "library.cedar"])


def borrow_binding(*facts: Any) -> ActionBinding:
    return ActionBinding(Subject("Book", argument="book_id", lookup="book"), facts)


BORROW_FACTS = (
    fact("confirmed", argument="confirmed"),
    fact("copiesAvailable", record="book", key="book_id", field="copies"),
    fact("finesCents", record="member", field="fines_euros", transform=to_cents),
)
RENEW_FACTS = (
    fact("confirmed", argument="confirmed"),
    fact("holds", compute=holds),
    fact("dueInDays", record="loan", key="loan_id", field="due_in_days"),
    fact("borrower", record="loan", key="loan_id", field="borrower"),
)


def desk(engine: PolicyEngine, **overrides: Any) -> DeclarativeBinding:
    lookups: dict[str, Any] = {"member": member, "book": BOOKS.get, "loan": LOANS.get}
    lookups.update(overrides.pop("lookups", {}))
    actions = {
        "borrow_book": borrow_binding(*BORROW_FACTS),
        "renew_loan": ActionBinding(
            Subject("Loan", argument="loan_id", lookup="loan"), RENEW_FACTS
        ),
    }
    actions.update(overrides.pop("actions", {}))
    return DeclarativeBinding(
        engine.schema, Subject("Member", lookup="member"), actions, lookups, **overrides
    )


def check(
    engine: PolicyEngine,
    binding: DeclarativeBinding,
    tool: str,
    who: str = "m1",
    **arguments: Any,
) -> Verdict:
    ctx = GuardContext("run-1", Principal(who), AGENT, ToolRegistry(), {})
    return PolicyCheck(engine, binding)(ctx, ToolCall("c1", tool, arguments))


def codes(verdict: Verdict) -> list[ErrorCode]:
    return [r.code for r in verdict.reasons]


def test_a_confirmed_loan_of_an_available_book_is_allowed(engine: PolicyEngine) -> None:
    verdict = check(engine, desk(engine), "borrow_book", book_id="b1", confirmed=True)
    assert verdict.effect is Effect.ALLOW, verdict.reasons
    context = verdict.facts["request"]["context"]
    # facts the binding does not provide take the schema's neutral values
    assert context == {
        "confirmed": True,
        "copiesAvailable": 2,
        "finesCents": 0,
        "channel": "",
        "tags": [],
    }


def test_a_forbid_fires_on_a_defaulted_fact(engine: PolicyEngine) -> None:
    # nobody provides `confirmed` for this binding: it is false, so confirm-first fires
    binding = desk(engine, actions={"borrow_book": borrow_binding(*BORROW_FACTS[1:])})
    verdict = check(engine, binding, "borrow_book", book_id="b1", confirmed=True)
    assert verdict.effect is Effect.DENY and codes(verdict) == [ErrorCode.POLICY_DENIED]
    assert verdict.facts["policies"] == ["confirm-first"]
    assert verdict.facts["request"]["context"]["confirmed"] is False


def test_facts_from_records_and_transforms_decide(engine: PolicyEngine) -> None:
    fined = check(engine, desk(engine), "borrow_book", "m2", book_id="b1", confirmed=True)
    assert fined.effect is Effect.DENY and fined.facts["policies"] == ["fines-block-borrowing"]
    assert fined.facts["request"]["context"]["finesCents"] == 350
    none_left = check(engine, desk(engine), "borrow_book", book_id="b3", confirmed=True)
    assert none_left.facts["policies"] == ["no-copy-left"]
    assert codes(none_left) == [ErrorCode.POLICY_DENIED]


def test_entity_attributes_come_from_records_and_escalate(engine: PolicyEngine) -> None:
    verdict = check(engine, desk(engine), "borrow_book", book_id="b2", confirmed=True)
    assert verdict.effect is Effect.ESCALATE
    assert codes(verdict) == [ErrorCode.POLICY_ESCALATED]
    assert verdict.facts["approval"]["approver_role"] == "librarian"


def test_ids_become_references_where_the_schema_says_entity(engine: PolicyEngine) -> None:
    own = check(engine, desk(engine), "renew_loan", loan_id="l1", confirmed=True)
    assert own.effect is Effect.ALLOW, own.reasons
    assert own.facts["request"]["context"]["borrower"] == "Member::m1"
    theirs = check(engine, desk(engine), "renew_loan", loan_id="l2", confirmed=True)
    assert theirs.effect is Effect.DENY
    assert theirs.facts["policies"] == ["own-loans-only", "holds-block-renewal"]
    limit = check(engine, desk(engine), "renew_loan", loan_id="l3", confirmed=True)
    assert limit.facts["policies"] == ["renewal-limit"]


# -- the missing-data rule -------------------------------------------------------------------


def test_an_unknown_book_reaches_the_tool_with_no_invented_facts(engine: PolicyEngine) -> None:
    # the lookup returns None: the resource is named but not supplied, and the optional
    # copiesAvailable is left out rather than given a value a policy could read as "plenty"
    verdict = check(engine, desk(engine), "borrow_book", book_id="b404", confirmed=True)
    assert verdict.effect is Effect.ALLOW, verdict.reasons
    request = verdict.facts["request"]
    assert request["resource"] == "Book::b404"
    assert "copiesAvailable" not in request["context"]


def test_a_missing_entity_is_never_given_attributes(engine: PolicyEngine) -> None:
    binding = desk(engine)
    ctx = GuardContext("run-1", Principal("m1"), AGENT, ToolRegistry(), {})
    call = ToolCall("c1", "renew_loan", {"loan_id": "l404", "confirmed": True})
    request = binding.request_for_call(ctx, call, ())
    assert [e["uid"] for e in request.entities] == [{"type": "Member", "id": "m1"}]
    assert request.resource == ("Loan", "l404") and request.problems == ()
    assert "dueInDays" not in request.context and "borrower" not in request.context


def test_a_missing_record_behind_a_required_fact_refuses_the_request(
    engine: PolicyEngine,
) -> None:
    # finesCents is required and comes from the member record, which does not exist
    verdict = check(engine, desk(engine), "borrow_book", "m404", book_id="b1", confirmed=True)
    assert verdict.effect is Effect.DENY
    assert codes(verdict) == [ErrorCode.POLICY_REQUEST_INVALID]
    assert "fact `finesCents` of `borrow_book`: lookup `member` found no `m404`" in (
        verdict.reasons[0].message
    )


def test_a_missing_field_behind_a_required_fact_refuses_the_request(engine: PolicyEngine) -> None:
    binding = desk(engine, lookups={"member": lambda i: {"tier": "staff", "finesCents": 0}})
    verdict = check(engine, binding, "borrow_book", book_id="b1", confirmed=True)
    assert codes(verdict) == [ErrorCode.POLICY_REQUEST_INVALID]
    assert "field `fines_euros` of `member` `m1` is missing" in verdict.reasons[0].message


def test_a_missing_argument_refuses_rather_than_defaults(engine: PolicyEngine) -> None:
    verdict = check(engine, desk(engine), "borrow_book", book_id="b1")
    assert codes(verdict) == [ErrorCode.POLICY_REQUEST_INVALID]
    assert "argument `confirmed` is missing" in verdict.reasons[0].message
    nameless = check(engine, desk(engine), "borrow_book", confirmed=True)
    assert codes(nameless)[0] is ErrorCode.POLICY_REQUEST_INVALID
    assert "argument `book_id` holds no id" in nameless.reasons[0].message


def test_a_record_lacking_a_required_entity_attribute_is_not_half_built(
    engine: PolicyEngine,
) -> None:
    verdict = check(engine, desk(engine), "borrow_book", "m3", book_id="b1", confirmed=True)
    assert codes(verdict) == [ErrorCode.POLICY_REQUEST_INVALID]
    assert "the principal `Member::m3` has no `tier`" in verdict.reasons[0].message


# -- failures of the domain's code -----------------------------------------------------------


def broken(_: Any) -> Any:
    raise ConnectionError("catalogue database is down")


def test_a_provider_that_raises_denies_and_records_why(engine: PolicyEngine) -> None:
    binding = desk(
        engine,
        actions={"borrow_book": borrow_binding(*BORROW_FACTS, fact("tags", compute=broken))},
    )
    verdict = check(engine, binding, "borrow_book", book_id="b1", confirmed=True)
    assert verdict.effect is Effect.DENY
    assert codes(verdict) == [ErrorCode.POLICY_REQUEST_INVALID]
    message = verdict.reasons[0].message
    assert "fact `tags` of `borrow_book` failed: ConnectionError: catalogue database is down" in (
        message
    )


def test_a_lookup_or_transform_that_raises_denies(engine: PolicyEngine) -> None:
    binding = desk(engine, lookups={"book": broken})
    verdict = check(engine, binding, "borrow_book", book_id="b1", confirmed=True)
    assert verdict.effect is Effect.DENY
    assert set(codes(verdict)) == {ErrorCode.POLICY_REQUEST_INVALID}
    assert "lookup `book` raised ConnectionError" in verdict.reasons[0].message
    bad_transform = fact("finesCents", record="member", field="tier", transform=to_cents)
    binding = desk(engine, actions={"borrow_book": borrow_binding(bad_transform)})
    verdict = check(engine, binding, "borrow_book", book_id="b1")
    assert codes(verdict) == [ErrorCode.POLICY_REQUEST_INVALID]
    assert "TypeError" in verdict.reasons[0].message


def test_a_lookup_returning_something_odd_is_refused_not_raised(engine: PolicyEngine) -> None:
    binding = desk(engine, lookups={"book": lambda i: "Dune"})  # a string, not a record
    verdict = check(engine, binding, "borrow_book", book_id="b1", confirmed=True)
    assert verdict.effect is Effect.DENY
    assert codes(verdict) == [ErrorCode.POLICY_REQUEST_INVALID]
    assert "AttributeError" in verdict.reasons[0].message


def test_a_provider_of_the_wrong_type_is_refused_by_the_schema(engine: PolicyEngine) -> None:
    binding = desk(
        engine, lookups={"book": lambda i: {"title": "Dune", "restricted": False, "copies": "2"}}
    )
    verdict = check(engine, binding, "borrow_book", book_id="b1", confirmed=True)
    assert codes(verdict) == [ErrorCode.POLICY_REQUEST_INVALID]
    assert "`copiesAvailable` for action `borrow_book` must be Long" in verdict.reasons[0].message


def test_a_tool_the_schema_does_not_declare_is_refused(engine: PolicyEngine) -> None:
    verdict = check(engine, desk(engine), "burn_book", book_id="b1")
    assert verdict.effect is Effect.DENY
    assert codes(verdict) == [ErrorCode.POLICY_REQUEST_INVALID]
    assert "action `burn_book` is not declared in the schema" in verdict.reasons[0].message


# -- defaults that need no declaration -------------------------------------------------------


def test_an_undeclared_action_gets_a_placeholder_resource_and_neutral_facts(
    engine: PolicyEngine,
) -> None:
    verdict = check(engine, desk(engine), "search_catalog", query="dune")
    assert verdict.effect is Effect.ALLOW, verdict.reasons
    assert verdict.facts["request"]["resource"] == f"Desk::{PLACEHOLDER_ID}"


def test_answers_are_judged_by_a_neutral_request_without_an_answer_binding(
    engine: PolicyEngine,
) -> None:
    ctx = GuardContext("run-1", Principal("m1"), AGENT, ToolRegistry(), {})
    turn = ModelTurn(TurnKind.ANSWER, "Dune is due back on Friday.")
    verdict = PolicyAnswerCheck(engine, desk(engine))(ctx, turn)
    assert verdict.effect is Effect.ALLOW
    assert verdict.facts["request"]["action"] == "answer"
    unknown = PolicyAnswerCheck(engine, desk(engine))(
        GuardContext("run-1", Principal("m404"), AGENT, ToolRegistry(), {}), turn
    )
    assert unknown.effect is Effect.ALLOW  # an unknown member's entity is simply not supplied


def test_the_principal_may_come_from_the_run_alone(engine: PolicyEngine) -> None:
    binding = DeclarativeBinding(engine.schema, Subject("Member"), lookups={"book": BOOKS.get})
    ctx = GuardContext(
        "run-1",
        Principal("m9", attributes={"tier": "staff", "finesCents": 0}),
        AGENT,
        ToolRegistry(),
        {},
    )
    request = binding.request_for_call(ctx, ToolCall("c1", "search_catalog", {}), ())
    assert request.entities[0]["attrs"] == {"tier": "staff", "finesCents": 0}
    assert engine.decide(request).effect is Effect.ALLOW


# -- declarations are checked when the binding is built ---------------------------------------


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (
            {"actions": {"borrow_book": borrow_binding(fact("speed", argument="s"))}},
            "no context attribute `speed`",
        ),
        (
            {
                "actions": {
                    "borrow_book": borrow_binding(fact("finesCents", record="fines", field="x"))
                }
            },
            "unknown lookup `fines`",
        ),
        ({"actions": {"fly": ActionBinding()}}, "no action `fly` in the schema"),
        (
            {"actions": {"renew_loan": ActionBinding(Subject("Book", argument="b"))}},
            "does not apply to `Book`",
        ),
        (
            {"actions": {"renew_loan": ActionBinding(Subject("Loan"))}},
            "exactly one of `argument` and `id`",
        ),
    ],
)
def test_a_wrong_declaration_fails_when_the_binding_is_built(
    engine: PolicyEngine, change: dict[str, Any], said: str
) -> None:
    with pytest.raises(TetherError) as caught:
        desk(engine, **change)
    assert caught.value.code is ErrorCode.CONFIG_INVALID and said in str(caught.value)


def test_a_fact_needs_exactly_one_source() -> None:
    with pytest.raises(TetherError) as caught:
        fact("x", argument="a", compute=lambda s: 1)
    assert caught.value.code is ErrorCode.CONFIG_INVALID
    with pytest.raises(TetherError):
        fact("x", record="member")


def test_a_schema_without_an_answer_action_is_a_configuration_error(tmp_path: Path) -> None:
    schema = (
        (FIXTURES / "library.cedarschema")
        .read_text()
        .replace("search_catalog, answer", "search_catalog")
    )
    (tmp_path / "s.cedarschema").write_text(schema)
    (tmp_path / "p.cedar").write_text('@id("all")\npermit (principal, action, resource);\n')
    bare = PolicyEngine.from_files(tmp_path / "s.cedarschema", [tmp_path / "p.cedar"])
    with pytest.raises(TetherError) as caught:
        DeclarativeBinding(bare.schema, Subject("Member"))
    assert caught.value.code is ErrorCode.CONFIG_INVALID
    assert "declares no `answer` action" in str(caught.value)
