"""Every request is checked against the schema before Cedar sees it, and one that does not fit
is refused as POLICY_REQUEST_INVALID naming what is wrong, even where no policy reads it."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cedarpy
import pytest

from tether.core.errors import ErrorCode
from tether.core.types import Effect, Verdict
from tether.policy import engine as engine_module
from tether.policy.check import to_verdict
from tether.policy.engine import PolicyEngine, PolicyRequest, entity, ref
from tether.policy.schema import PolicySchema, SchemaUnsupported, parse_schema

FIXTURES = Path(__file__).parent / "fixtures"
SCHEMA, POLICIES = FIXTURES / "library.cedarschema", FIXTURES / "library.cedar"
Mutation = Callable[[dict[str, Any]], None]


@pytest.fixture(scope="module")
def engine() -> PolicyEngine:
    return PolicyEngine.from_files(SCHEMA, [POLICIES])


def borrow(**context: Any) -> dict[str, Any]:
    """A well-formed borrow_book request as plain parts, for a test to break one of them."""
    facts = {
        "confirmed": True,
        "copiesAvailable": 2,
        "finesCents": 0,
        "channel": "chat",
        "tags": ["fiction"],
    }
    return {
        "principal": ("Member", "m1"),
        "action": "borrow_book",
        "resource": ("Book", "b1"),
        "context": {**facts, **context},
        "entities": [
            entity("Member", "m1", tier="standard", finesCents=0),
            entity("Book", "b1", title="Dune", restricted=False),
        ],
    }


def as_request(parts: dict[str, Any]) -> PolicyRequest:
    return PolicyRequest(
        parts["principal"], parts["action"], parts["resource"], parts["context"], parts["entities"]
    )


def verdict_of(engine: PolicyEngine, parts: dict[str, Any]) -> Verdict:
    request = as_request(parts)
    return to_verdict("policy", engine.decide(request), request, 0.1)


def assert_refused(verdict: Verdict, *fragments: str) -> None:
    assert verdict.effect is Effect.DENY
    assert verdict.reasons and all(
        r.code is ErrorCode.POLICY_REQUEST_INVALID for r in verdict.reasons
    )
    assert verdict.facts["invalid_request"] is True
    said = " | ".join(r.message for r in verdict.reasons)
    for fragment in fragments:
        assert fragment in said


def test_a_well_formed_request_is_decided(engine: PolicyEngine) -> None:
    verdict = verdict_of(engine, borrow())
    assert verdict.effect is Effect.ALLOW and verdict.facts["policies"] == ["members-use-the-desk"]


def test_a_missing_context_field_no_policy_reads_is_still_refused(engine: PolicyEngine) -> None:
    parts = borrow()
    del parts["context"]["channel"]
    assert_refused(
        verdict_of(engine, parts), "missing context attribute `channel` for action `borrow_book`"
    )
    # the hole this closes: without validation Cedar never notices, and the call is allowed
    unchecked = PolicyEngine.from_files(SCHEMA, [POLICIES], validate_requests=False)
    assert unchecked.decide(as_request(parts)).effect is Effect.ALLOW


def test_a_missing_field_a_forbid_reads_is_refused_not_evaluated(engine: PolicyEngine) -> None:
    parts = borrow()
    del parts["context"]["finesCents"]
    assert_refused(verdict_of(engine, parts), "missing context attribute `finesCents`")


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("finesCents", "0", "`finesCents` for action `borrow_book` must be Long, got the string"),
        ("finesCents", True, "must be Long, got the Bool true"),
        ("finesCents", 1.5, "must be Long, got the float"),
        ("finesCents", 2**63, "must be Long"),
        ("confirmed", 1, "`confirmed` for action `borrow_book` must be Bool, got the Long 1"),
        ("confirmed", "yes", "must be Bool"),
        ("channel", None, "`channel` for action `borrow_book` must be String, got null"),
        ("tags", "fiction", "`tags` for action `borrow_book` must be Set<String>"),
        ("tags", ["fiction", 7], "`tags[1]` for action `borrow_book` must be String"),
    ],
)
def test_a_wrong_type_is_refused(engine: PolicyEngine, name: str, value: Any, said: str) -> None:
    assert_refused(verdict_of(engine, borrow(**{name: value})), said)


def test_an_undeclared_context_attribute_is_refused(engine: PolicyEngine) -> None:
    verdict = verdict_of(engine, borrow(override=True))
    assert_refused(verdict, "context attribute `override` for action `borrow_book` is not declared")


def test_an_entity_of_an_undeclared_type_is_refused(engine: PolicyEngine) -> None:
    parts = borrow()
    parts["entities"].append(entity("Librarian", "root"))
    assert_refused(
        verdict_of(engine, parts),
        'entity `Librarian::"root"` has type `Librarian`, which the schema does not declare',
    )


def test_a_principal_or_resource_of_the_wrong_type_is_refused(engine: PolicyEngine) -> None:
    parts = borrow()
    parts["principal"] = ("Book", "b1")
    assert_refused(verdict_of(engine, parts), "principal type `Book` is not valid")
    parts = borrow()
    parts["resource"] = ("Loan", "l1")
    assert_refused(verdict_of(engine, parts), "resource type `Loan` is not valid")


def test_an_undeclared_action_and_an_action_group_are_refused(engine: PolicyEngine) -> None:
    parts = borrow()
    parts["action"] = "burn_book"
    assert_refused(verdict_of(engine, parts), "action `burn_book` is not declared")


@pytest.mark.parametrize(
    ("mutate", "said"),
    [
        (
            lambda p: p["entities"][1]["attrs"].pop("title"),
            'missing attribute `title` of entity `Book::"b1"`',
        ),
        (
            lambda p: p["entities"][1]["attrs"].update(restricted="no"),
            '`restricted` of entity `Book::"b1"` must be Bool',
        ),
        (
            lambda p: p["entities"][1]["attrs"].update(isbn="x"),
            '`isbn` of entity `Book::"b1"` is not declared',
        ),
        (
            lambda p: p["entities"][1].update(parents=[{"type": "Shelf", "id": "s1"}]),
            'entity `Book::"b1"` may not have the parent',
        ),
        (
            lambda p: p["entities"].append(entity("Book", "b1", title="Other", restricted=True)),
            "is given twice, differently",
        ),
        (
            lambda p: p["entities"].append({"uid": 3, "attrs": {}, "parents": []}),
            "has no valid uid",
        ),
        (
            lambda p: p["entities"].append(entity("Action", "borrow_book")),
            "action entities come from the schema",
        ),
    ],
)
def test_an_entity_that_does_not_fit_its_type_is_refused(
    engine: PolicyEngine, mutate: Mutation, said: str
) -> None:
    parts = borrow()
    mutate(parts)
    assert_refused(verdict_of(engine, parts), said)


def loan(borrower: Any) -> dict[str, Any]:
    return {
        "principal": ("Member", "m1"),
        "action": "renew_loan",
        "resource": ("Loan", "l1"),
        "context": {"confirmed": True, "holds": 0},
        "entities": [entity("Loan", "l1", borrower=borrower, book=ref("Book", "b1"), renewals=0)],
    }


def test_an_entity_reference_must_be_explicit_and_of_its_type(engine: PolicyEngine) -> None:
    assert verdict_of(engine, loan(ref("Member", "m1"))).effect is Effect.ALLOW
    # the bare form would be a record to the schema-less evaluation: refused, not misread
    assert_refused(verdict_of(engine, loan({"type": "Member", "id": "m2"})), "`borrower`")
    assert_refused(
        verdict_of(engine, loan(ref("Book", "b1"))),
        '`borrower` of entity `Loan::"l1"` must be a reference to entity Member',
    )


def test_a_good_parent_is_accepted(engine: PolicyEngine) -> None:
    parts = {
        "principal": ("Member", "m1"),
        "action": "search_catalog",
        "resource": ("Desk", "main"),
        "context": {},
        "entities": [{**entity("Desk", "main"), "parents": [{"type": "Shelf", "id": "s1"}]}],
    }
    assert verdict_of(engine, parts).effect is Effect.ALLOW


def test_problems_the_binding_reports_are_refused_even_without_validation() -> None:
    unchecked = PolicyEngine.from_files(SCHEMA, [POLICIES], validate_requests=False)
    request = PolicyRequest(
        ("Member", "m1"), "search_catalog", ("Desk", "main"), {}, [], ("lookup `member` raised",)
    )
    decision = unchecked.decide(request)
    assert decision.effect is Effect.DENY and decision.invalid_request
    verdict = to_verdict("policy", decision, request, 0.1)
    assert verdict.reasons[0].code is ErrorCode.POLICY_REQUEST_INVALID
    assert "lookup `member` raised" in verdict.reasons[0].message


def test_an_evaluation_error_is_still_a_policy_denial_not_an_invalid_request(
    tmp_path: Path,
) -> None:
    # a well-formed request naming a loan whose entity is not supplied, read without `has`
    text = POLICIES.read_text() + (
        '\n@id("loans-read-their-book")\n@reason("restricted")\n'
        'forbid (principal, action == Action::"renew_loan", resource)\n'
        "when { resource.book.restricted };\n"
    )
    (tmp_path / "extra.cedar").write_text(text)
    strict = PolicyEngine.from_files(SCHEMA, [tmp_path / "extra.cedar"])
    request = as_request(loan(ref("Member", "m1")))
    decision = strict.decide(request)
    assert decision.effect is Effect.DENY and decision.errors and not decision.invalid_request
    assert to_verdict("policy", decision, request, 0.1).reasons[0].code is ErrorCode.POLICY_DENIED


def test_a_schema_tether_cannot_read_falls_back_to_cedars_validation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def unsupported(_: Any) -> Any:
        raise SchemaUnsupported("pretend")

    monkeypatch.setattr(engine_module.PolicySchema, "of", staticmethod(unsupported))
    fallback = PolicyEngine.from_files(SCHEMA, [POLICIES])
    assert fallback.decide(as_request(borrow())).effect is Effect.ALLOW
    parts = borrow()
    del parts["context"]["channel"]
    assert_refused(verdict_of(fallback, parts), "channel")
    parts = borrow(finesCents="0")
    assert_refused(verdict_of(fallback, parts), 'not valid for `Action::"borrow_book"`')


# -- the Python check agrees with Cedar's own ----------------------------------------------

VARIANTS: dict[str, Mutation] = {
    "valid": lambda p: None,
    "missing unread field": lambda p: p["context"].pop("channel"),
    "missing optional field": lambda p: p["context"].pop("copiesAvailable"),
    "string for Long": lambda p: p["context"].update(finesCents="0"),
    "Bool for Long": lambda p: p["context"].update(finesCents=False),
    "Long for Bool": lambda p: p["context"].update(confirmed=0),
    "extra attribute": lambda p: p["context"].update(extra=1),
    "set of Longs": lambda p: p["context"].update(tags=[1]),
    "empty set": lambda p: p["context"].update(tags=[]),
    "undeclared entity type": lambda p: p["entities"].append(entity("Ghost", "g")),
    "entity missing attribute": lambda p: p["entities"][0]["attrs"].pop("tier"),
    "entity extra attribute": lambda p: p["entities"][0]["attrs"].update(age=3),
    "entity wrong attribute type": lambda p: p["entities"][0]["attrs"].update(tier=3),
    "parent not allowed": lambda p: p["entities"][0].update(parents=[{"type": "Book", "id": "x"}]),
    "wrong principal type": lambda p: p.update(principal=("Book", "b1")),
    "wrong resource type": lambda p: p.update(resource=("Desk", "d")),
    "undeclared action": lambda p: p.update(action="burn_book"),
    "another action's context": lambda p: p.update(action="answer", resource=("Desk", "d")),
}


def cedar_refuses(engine: PolicyEngine, parts: dict[str, Any]) -> bool:
    request = as_request(parts)
    result = cedarpy.is_authorized(
        request.cedar(),
        engine.policies.policy_set,
        json.dumps(list(request.entities)),
        schema=engine.policies.schema,
    )
    return bool(result.diagnostics.errors)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_the_python_check_agrees_with_cedar(engine: PolicyEngine, name: str) -> None:
    parts = copy.deepcopy(borrow())
    VARIANTS[name](parts)
    decision = engine.decide(as_request(parts))
    assert decision.invalid_request == cedar_refuses(engine, parts), decision.errors
    # the fast predicate and the walk that names problems agree: no unexplained refusal
    assert not any("does not match the schema" in e for e in decision.errors)


ENUM_SCHEMA = """
entity Colour enum ["red", "green"];
entity Crate = { colour: Colour, stamp?: decimal } tags Long;
action paint appliesTo { principal: Crate, resource: Colour, context: { shade: Colour } };
"""


def test_enumerated_ids_extension_values_and_tags_are_checked(tmp_path: Path) -> None:
    (tmp_path / "s.cedarschema").write_text(ENUM_SCHEMA)
    (tmp_path / "p.cedar").write_text('@id("all")\npermit (principal, action, resource);\n')
    enum_engine = PolicyEngine.from_files(tmp_path / "s.cedarschema", [tmp_path / "p.cedar"])

    def decide(colour: str, shade: str, **extra: Any) -> Any:
        crate = {**entity("Crate", "c1", colour=ref("Colour", colour)), **extra}
        request = PolicyRequest(
            ("Crate", "c1"), "paint", ("Colour", "red"), {"shade": ref("Colour", shade)}, [crate]
        )
        return enum_engine.decide(request)

    assert decide("red", "green").effect is Effect.ALLOW
    assert decide("red", "green", tags={"weight": 3}).effect is Effect.ALLOW
    blue = decide("red", "blue")
    assert blue.invalid_request and "`blue` is not an id `Colour` enumerates" in blue.errors[0]
    assert decide("mauve", "red").invalid_request
    assert decide("red", "red", tags={"weight": "3"}).invalid_request
    stamp = {"__extn": {"fn": "decimal", "arg": "1.5"}}
    good = decide("red", "red", attrs={"colour": ref("Colour", "red"), "stamp": stamp})
    assert good.effect is Effect.ALLOW
    bare = decide("red", "red", attrs={"colour": ref("Colour", "red"), "stamp": "1.5"})
    assert bare.invalid_request and "`stamp`" in bare.errors[0]


def test_the_schema_reads_the_same_from_its_text_and_from_cedars_rendering() -> None:
    text = SCHEMA.read_text()
    assert parse_schema(text) == PolicySchema.of(cedarpy.Schema.from_str(text))
    loan = parse_schema(text).entities["Loan"]
    assert loan.attrs.attrs["borrower"].type.entity == "Member"
    renew = parse_schema(text).actions["renew_loan"]
    assert not renew.context.attrs["dueInDays"].required
    with pytest.raises(SchemaUnsupported):
        parse_schema("namespace Lending { entity Member; }")


def test_values_that_are_not_json_are_refused_not_raised(engine: PolicyEngine) -> None:
    unchecked = PolicyEngine.from_files(SCHEMA, [POLICIES], validate_requests=False)
    for decide in (engine.decide, unchecked.decide):
        decision = decide(as_request(borrow(tags={"fiction"})))  # a Python set, not a list
        assert decision.effect is Effect.DENY and decision.invalid_request


ODD_VALUES: list[Any] = [
    True,
    0,
    -(2**63),
    2**63,
    1.5,
    "x",
    [],
    ["a"],
    [1],
    [True, "a"],
    {},
    {"confirmed": True},
    None,
    ref("Member", "m1"),
    ref("Book", "b1"),
    [ref("Member", "m1")],
]


def places(parts: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
    """Every (record, attribute) of a request a value can be put into or taken out of."""
    found = [(parts["context"], name) for name in [*parts["context"], "extra"]]
    for item in parts["entities"]:
        found += [(item["attrs"], name) for name in [*item["attrs"], "extra"]]
    return found


@pytest.mark.parametrize("action", ["borrow_book", "renew_loan"])
def test_the_python_check_agrees_with_cedar_on_every_odd_value(
    engine: PolicyEngine, action: str
) -> None:
    base = borrow() if action == "borrow_book" else loan(ref("Member", "m1"))
    disagreements = []
    for index in range(len(places(base))):
        for value in [*ODD_VALUES, "delete"]:
            parts = copy.deepcopy(base)
            record, name = places(parts)[index]
            if value == "delete":
                record.pop(name, None)
            else:
                record[name] = copy.deepcopy(value)
            ours = engine.decide(as_request(parts)).invalid_request
            if ours != cedar_refuses(engine, parts):
                disagreements.append((name, value, ours))
    assert disagreements == []
