"""A declarative policy binding: a domain says where each fact comes from, and the schema
supplies everything else (neutral values, entity shapes, which attributes may be absent).

    binding = DeclarativeBinding(
        engine.schema,
        principal=Subject("Member", lookup="member"),
        lookups={"member": members.get, "book": books.get},
        actions={
            "borrow_book": ActionBinding(
                resource=Subject("Book", argument="book_id", lookup="book"),
                facts=(
                    fact("confirmed", argument="confirmed"),
                    fact("copiesAvailable", record="book", key="book_id", field="copies"),
                    fact("finesCents", record="member", field="fines", transform=to_cents),
                    fact("holds", compute=lambda source: count_holds(source.arguments)),
                ),
            ),
        },
    )

Values are shaped by the schema (an id becomes a reference where it declares an entity);
entities are built from the records lookups return, from the fields named like their
attributes. Context attributes no fact names take neutral values (`schema.neutral`: false,
0, "", [], a placeholder `Type::"?"` that is never supplied; optional ones are left out), so
no policy may read permission into the neutral value of a fact the binding does not provide.

Missing data, one rule, fail closed. Data is missing when a lookup returns None, a record
lacks the field (or holds null), the argument is absent (or null), or a computed fact returns
None. Missing data is never replaced by a value:

- a fact whose data is missing is left out of the context when the schema declares its
  attribute optional (`copiesAvailable?: Long`; Cedar's validator then makes every policy
  that reads it test `context has copiesAvailable` first), and otherwise the request is
  refused as POLICY_REQUEST_INVALID naming the fact and what was missing;
- an entity whose record is missing is named but not supplied: it has no attributes, so
  `resource has status` is false and reading `resource.status` is an evaluation error, which
  denies. An unknown id reaches the tool (and its NOT_FOUND) only where the policies allow
  it with `has`;
- a record that lacks an attribute its entity type requires makes the request invalid: an
  entity is never half-built.

A lookup, provider or transform that raises refuses the request as POLICY_REQUEST_INVALID
with the error recorded, and so does a tool the schema does not declare: nothing raises.

Answers are judged like calls, by the schema's `answer` action: a request by the principal
on the action's resource with neutral facts plus any the domain declares for `answer` (a
computed fact reads the text as `source.text`). A domain without answer rules declares the
action and permits it; a schema without the action is a configuration error when the binding
is built, not a silent allow.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tether.core.errors import ErrorCode, TetherError
from tether.core.guard import GuardContext
from tether.core.types import Message, ToolCall
from tether.policy.engine import PolicyRequest, entity
from tether.policy.schema import (
    PLACEHOLDER_ID,
    ActionSchema,
    Attribute,
    CedarType,
    PolicySchema,
    neutral,
    shaped,
)

ANSWER = "answer"
Lookup = Callable[[str], Mapping[str, Any] | None]


class _Missing(Exception):
    """Data a fact or an entity needs is not there (see the module's missing-data rule)."""


@dataclass
class FactSource:
    """What a fact may read: the run, the proposed action and its arguments, the conversation,
    the answer's text, and the domain's records (each read at most once per request)."""

    ctx: GuardContext
    action: str
    arguments: Mapping[str, Any]
    messages: Sequence[Message]
    lookups: Mapping[str, Lookup]
    text: str = ""
    _records: dict[tuple[str, str], Mapping[str, Any] | None] = field(
        default_factory=dict, init=False, repr=False
    )

    def record(self, lookup: str, record_id: str) -> Mapping[str, Any] | None:
        """The record a lookup returns for an id (None when there is none)."""
        key = (lookup, record_id)
        if key not in self._records:
            try:
                self._records[key] = self.lookups[lookup](record_id)
            except Exception as exc:
                raise RuntimeError(f"lookup `{lookup}` raised {_error(exc)}") from exc
        return self._records[key]

    def id_from(self, argument: str | None) -> str:
        """An id from an argument (the run's principal's for None); missing if there is none."""
        if argument is None:
            return self.ctx.principal.id
        value = self.arguments.get(argument)
        if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
            return str(value)
        raise _Missing(f"argument `{argument}` holds no id")


@dataclass(frozen=True)
class Fact:
    """One context attribute and where its value comes from; build it with `fact()`."""

    name: str  # the context attribute; `a.b` for an attribute of a nested record
    argument: str | None = None
    record: str | None = None
    key: str | None = None
    field: str | None = None
    compute: Callable[[FactSource], Any] | None = None
    transform: Callable[[Any], Any] | None = None

    def __post_init__(self) -> None:
        sources = [self.argument is not None, self.record is not None, self.compute is not None]
        if sum(sources) != 1:
            raise _config(f"fact `{self.name}` needs exactly one of argument, record, compute")
        if (self.record is None) != (self.field is None):
            raise _config(f"fact `{self.name}`: a record fact names its field, and only it")
        if self.key is not None and self.record is None:
            raise _config(f"fact `{self.name}`: `key` belongs to a record fact")

    def read(self, source: FactSource) -> Any:
        """The fact's value (raises when its data is missing)."""
        if self.argument is not None:
            value = source.arguments.get(self.argument)
            where = f"argument `{self.argument}`"
        elif self.record is not None and self.field is not None:
            record_id = source.id_from(self.key)
            found = source.record(self.record, record_id)
            if found is None:
                raise _Missing(f"lookup `{self.record}` found no `{record_id}`")
            value = found.get(self.field)
            where = f"field `{self.field}` of `{self.record}` `{record_id}`"
        else:
            assert self.compute is not None
            value = self.compute(source)
            where = "its computation"
        if value is None:
            raise _Missing(f"{where} is missing")
        return value if self.transform is None else self.transform(value)


def fact(
    name: str,
    *,
    argument: str | None = None,
    record: str | None = None,
    key: str | None = None,
    field: str | None = None,
    compute: Callable[[FactSource], Any] | None = None,
    transform: Callable[[Any], Any] | None = None,
) -> Fact:
    """A fact for context attribute `name`, from exactly one source: a call `argument`; the
    `field` of the `record` a lookup returns for the id in argument `key` (the principal's id
    when `key` is None); or `compute(source)`. `transform` maps the value read."""
    return Fact(name, argument, record, key, field, compute, transform)


@dataclass(frozen=True)
class Subject:
    """Where a principal or resource comes from: its entity type; its id, from a call
    `argument`, a fixed `id`, or (for the principal, with neither) the run's principal; and the
    `lookup` whose record gives its attributes (for the principal without one, the run's
    principal attributes)."""

    type: str
    argument: str | None = None
    id: str | None = None
    lookup: str | None = None


@dataclass(frozen=True)
class ActionBinding:
    """One action's resource and facts; the resource defaults to a placeholder of the only
    resource type the action applies to."""

    resource: Subject | None = None
    facts: tuple[Fact, ...] = ()


class DeclarativeBinding:
    """A `PolicyBinding` built from declarations: see the module docstring for the rules."""

    def __init__(
        self,
        schema: PolicySchema,
        principal: Subject,
        actions: Mapping[str, ActionBinding] | None = None,
        lookups: Mapping[str, Lookup] | None = None,
    ) -> None:
        self.schema = schema
        self.principal = principal
        self.actions = dict(actions or {})
        self.lookups = dict(lookups or {})
        problems = self._declaration_problems()
        if problems:
            raise _config("; ".join(problems))

    def request_for_call(
        self, ctx: GuardContext, call: ToolCall, messages: Sequence[Message]
    ) -> PolicyRequest:
        """The request for a proposed tool call: its action is the tool's name."""
        args = call.arguments if isinstance(call.arguments, Mapping) else {}
        return self._request(FactSource(ctx, call.name, args, messages, self.lookups))

    def request_for_answer(
        self, ctx: GuardContext, text: str, messages: Sequence[Message]
    ) -> PolicyRequest:
        """The request for a proposed answer: the schema's `answer` action."""
        return self._request(FactSource(ctx, ANSWER, {}, messages, self.lookups, text))

    # -- building one request --------------------------------------------------------------

    def _request(self, source: FactSource) -> PolicyRequest:
        principal = (self.principal.type, source.ctx.principal.id)
        shape = self.schema.actions.get(source.action)
        if shape is None:
            problem = f"action `{source.action}` is not declared in the schema"
            return PolicyRequest(principal, source.action, ("", ""), {}, [], (problem,))
        problems: list[str] = []
        try:
            return self._build(shape, principal, source, problems)
        except Exception as exc:  # the domain's code failed somewhere: refuse, never raise
            problems.append(f"building the request for `{source.action}` failed: {_error(exc)}")
            return PolicyRequest(principal, source.action, ("", ""), {}, [], tuple(problems))

    def _build(
        self,
        shape: ActionSchema,
        principal: tuple[str, str],
        source: FactSource,
        problems: list[str],
    ) -> PolicyRequest:
        entities: dict[tuple[str, str], dict[str, Any]] = {}
        declared = self.actions.get(source.action, ActionBinding())
        self._add_entity("the principal", self.principal, principal, source, entities, problems)
        resource = self._resource(shape, declared.resource, source, problems)
        if declared.resource is not None and resource[1]:
            self._add_entity(
                "the resource", declared.resource, resource, source, entities, problems
            )
        context = neutral(shape.context)
        for item in declared.facts:
            self._set_fact(shape, item, source, context, problems)
        return PolicyRequest(
            principal, source.action, resource, context, list(entities.values()), tuple(problems)
        )

    def _resource(
        self,
        shape: ActionSchema,
        subject: Subject | None,
        source: FactSource,
        problems: list[str],
    ) -> tuple[str, str]:
        if subject is None:
            if len(shape.resources) != 1:
                problems.append(f"action `{shape.name}` applies to several resource types")
                return "", PLACEHOLDER_ID
            return next(iter(shape.resources)), PLACEHOLDER_ID
        if subject.id is not None:
            return subject.type, subject.id
        try:
            return subject.type, source.id_from(subject.argument)
        except _Missing as exc:
            problems.append(f"the resource of `{source.action}`: {exc}")
            return subject.type, ""

    def _add_entity(
        self,
        role: str,
        subject: Subject,
        uid: tuple[str, str],
        source: FactSource,
        entities: dict[tuple[str, str], dict[str, Any]],
        problems: list[str],
    ) -> None:
        """Supply an entity from its record; a missing record leaves it named but unsupplied."""
        try:
            if subject.lookup is not None:
                record = source.record(subject.lookup, uid[1])
            elif subject.argument is None and subject.id is None:
                record = source.ctx.principal.attributes
            else:
                return
        except RuntimeError as exc:
            problems.append(f"{role} `{uid[0]}::{uid[1]}`: {exc}")
            return
        if record is None or uid in entities:
            return
        attrs: dict[str, Any] = {}
        for name, attr in self.schema.entities[uid[0]].attrs.attrs.items():
            value = record.get(name)
            if value is not None:
                attrs[name] = shaped(value, attr.type)
            elif attr.required:
                problems.append(f"{role} `{uid[0]}::{uid[1]}` has no `{name}`, which it requires")
        entities[uid] = entity(uid[0], uid[1], **attrs)

    def _set_fact(
        self,
        shape: ActionSchema,
        item: Fact,
        source: FactSource,
        context: dict[str, Any],
        problems: list[str],
    ) -> None:
        attr = _attribute(shape.context, item.name)
        assert attr is not None  # checked when the binding was built
        *outer, last = item.name.split(".")
        target = context
        try:
            value = shaped(item.read(source), attr.type)
            for part in outer:
                target = target.setdefault(part, {})
            target[last] = value
        except _Missing as exc:  # an optional attribute stays absent, as `neutral` left it
            if attr.required:
                problems.append(f"fact `{item.name}` of `{source.action}`: {exc}")
        except Exception as exc:  # a provider's failure refuses the request, never escapes
            problems.append(f"fact `{item.name}` of `{source.action}` failed: {_error(exc)}")

    # -- checking the declarations once ----------------------------------------------------

    def _declaration_problems(self) -> list[str]:
        problems: list[str] = []
        schema, subjects = self.schema, [("the principal", self.principal)]
        if ANSWER not in schema.actions:
            problems.append(
                f"the schema declares no `{ANSWER}` action, so answers cannot be judged: add "
                f"`action {ANSWER} appliesTo {{ principal: {self.principal.type}, resource: "
                "<a type> };` and a policy that permits it"
            )
        for name in sorted({ANSWER, *self.actions} & set(schema.actions)):
            shape, declared = schema.actions[name], self.actions.get(name, ActionBinding())
            if self.principal.type not in shape.principals:
                problems.append(f"action `{name}` does not apply to `{self.principal.type}`")
            if declared.resource is None and len(shape.resources) != 1:
                problems.append(f"action `{name}` needs its resource declared")
            elif declared.resource is not None:
                subjects.append((f"the resource of `{name}`", declared.resource))
                if declared.resource.type not in shape.resources:
                    problems.append(f"action `{name}` does not apply to `{declared.resource.type}`")
            for item in declared.facts:
                if _attribute(shape.context, item.name) is None:
                    problems.append(f"action `{name}` has no context attribute `{item.name}`")
                if item.record is not None and item.record not in self.lookups:
                    problems.append(f"fact `{item.name}` reads unknown lookup `{item.record}`")
        problems.extend(
            f"no action `{n}` in the schema" for n in self.actions if n not in schema.actions
        )
        for role, subject in subjects:
            if subject.type not in schema.entities:
                problems.append(f"{role}: no entity type `{subject.type}` in the schema")
            if subject.lookup is not None and subject.lookup not in self.lookups:
                problems.append(f"{role}: unknown lookup `{subject.lookup}`")
            principal = role == "the principal"
            if principal and (subject.argument is not None or subject.id is not None):
                problems.append(f"{role} is the run's principal: give no `argument` or `id`")
            if not principal and (subject.argument is None) == (subject.id is None):
                problems.append(f"{role}: give exactly one of `argument` and `id`")
        return problems


def _attribute(record: CedarType, dotted: str) -> Attribute | None:
    """The attribute a dotted name reaches inside nested records, if the schema declares it."""
    attr: Attribute | None = None
    for part in dotted.split("."):
        if record.kind != "Record" or part not in record.attrs:
            return None
        attr = record.attrs[part]
        record = attr.type
    return attr


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _config(message: str) -> TetherError:
    return TetherError(ErrorCode.CONFIG_INVALID, f"policy binding: {message}")
