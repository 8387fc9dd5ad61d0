"""Tool registration: a typed callable plus its spec, with schemas derived from type hints.

Arguments are checked against a JSON-shaped mirror of the declared types, which
`tether.tools.schemas` makes from the type hints. `Tool.validate` returns the checked
arguments as plain JSON; `Tool.bind` returns them as the declared types (dataclass and model
instances, dicts for TypedDicts), which is what the function is called with.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import MAX_EMAX, MIN_EMIN, Context, Decimal
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import to_json, to_jsonable_python

from tether.core.envelope import Envelope, FallbackKind
from tether.core.errors import ErrorCode, TetherError
from tether.core.selectors import check_resources
from tether.core.types import OutputTrust, RiskClass, ToolSpec
from tether.tools.schemas import ExtraKeys, _input_models, _output_schema, _type_hints

#: `reconcile(arguments, idempotency_key)`: what a write whose outcome is unknown did: its
#: output (or a ToolOutcome) if it took effect, None if it did not; raising means "cannot tell".
Reconcile = Callable[[Mapping[str, Any], str], Any]


@dataclass(frozen=True)
class Tool:
    """A registered tool: its spec, the function, and the models that validate its input."""

    spec: ToolSpec
    fn: Callable[..., Any]
    input_model: type[BaseModel]  # plain JSON out; its schema is the spec's input schema
    output_adapter: TypeAdapter[Any] | None = None  # None: any JSON is accepted
    bind_model: type[BaseModel] | None = None  # the declared types out; None: input_model
    # for writes: finds out whether a call whose answer was lost took effect (see make_tool)
    reconcile: Reconcile | None = None
    output_type: TypeAdapter[Any] | None = None  # the declared return type, to dump output with

    @property
    def name(self) -> str:
        return self.spec.name

    def validate(
        self, arguments: Mapping[str, Any], *, defaults: bool = False, one_spelling: bool = False
    ) -> dict[str, Any]:
        """The arguments the function will receive, as plain JSON checked against the input
        schema: normalised as its declared types normalise them (stripped, upper-cased, a
        model's own validators), keys the tool ignores dropped, parameters left out left out
        (or, with `defaults`, filled with their declared defaults). Guards read this, so they
        judge the values the tool acts on. With `one_spelling`, equal decimals are spelled
        alike (`5.5` and `5.50`), for keys. Raises INVALID_ARGUMENTS with details."""
        bound = self._parse(self.bind_model or self.input_model, arguments, defaults=defaults)
        checked = self._parse(self.input_model, self._json(bound), defaults=defaults)
        if one_spelling:
            checked = _one_decimal_spelling(checked)
        return self._json(checked)  # dates, UUIDs, enums, tuples as the JSON they came as

    def _json(self, values: dict[str, Any]) -> dict[str, Any]:
        try:
            plain: dict[str, Any] = to_jsonable_python(values, by_alias=True)
        except Exception:  # a declared type's validator made a value JSON cannot carry
            raise TetherError(
                ErrorCode.INVALID_ARGUMENTS,
                f"arguments for {self.name} do not stay JSON once its types take them",
            ) from None
        return plain

    def bind(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """The checked arguments as the function's declared types; raises INVALID_ARGUMENTS."""
        return self._parse(self.bind_model or self.input_model, arguments)

    def _parse(
        self, model: type[BaseModel], arguments: Mapping[str, Any], *, defaults: bool = False
    ) -> dict[str, Any]:
        if not isinstance(arguments, Mapping):
            raise TetherError(ErrorCode.INVALID_ARGUMENTS, "arguments must be a JSON object")
        try:  # NaN and infinities as JSON constants, for the schema to refuse them by name
            text = to_json(dict(arguments), inf_nan_mode="constants")
        except Exception:
            raise TetherError(
                ErrorCode.INVALID_ARGUMENTS, f"arguments for {self.name} are not JSON"
            ) from None
        try:  # JSON mode: a date, UUID, enum or tuple is taken as the JSON its schema publishes
            parsed = model.model_validate_json(text)
        except ValidationError as exc:
            problems = [
                {"field": ".".join(str(p) for p in e["loc"]) or "(root)", "problem": e["msg"]}
                for e in exc.errors(include_url=False, include_input=False)
            ]
            summary = "; ".join(f"{p['field']}: {p['problem']}" for p in problems[:5])
            raise TetherError(
                ErrorCode.INVALID_ARGUMENTS,
                f"arguments for {self.name} fail its schema: {summary}",
                {"problems": problems},
            ) from None
        except Exception as exc:  # a validator in a declared type broke on odd input
            raise TetherError(
                ErrorCode.INVALID_ARGUMENTS,
                f"arguments for {self.name} could not be checked ({type(exc).__name__})",
            ) from None
        given = parsed.model_fields_set
        return {
            name: getattr(parsed, name)
            for name in type(parsed).model_fields
            if defaults or name in given
        }

    def as_declared(self, output: Any) -> Any:
        """The output as the JSON its declared return type publishes (a model, dataclass or
        enum the function returned, dumped); exactly as returned when it already is that JSON
        (250 stays 250), when no type is declared, or when it does not dump, for the output
        check to say why."""
        if self.output_type is None:
            return output
        try:  # a value that is not of the declared type raises rather than being coerced
            dumped = self.output_type.dump_python(
                output, mode="json", by_alias=True, warnings="error"
            )
        except Exception:  # e.g. a set, or an object that holds itself: checked as returned
            return output
        return output if dumped == output else dumped

    def output_problem(self, output: Any) -> str:
        """Why `output` does not fit the output schema, or "" when it does."""
        if self.output_adapter is None:
            return ""
        try:  # JSON mode, as for arguments: an enum's value, a date's string fit their schema
            self.output_adapter.validate_json(
                to_json(output, inf_nan_mode="constants"), strict=True
            )
        except ValidationError as exc:
            first = exc.errors(include_url=False, include_input=False)[0]
            where = ".".join(str(p) for p in first["loc"]) or "(root)"
            return f"{where}: {first['msg']}"
        return ""

    def with_envelope(self, envelope: Envelope, *, idempotent: bool | None = None) -> Tool:
        """This tool under other envelope settings, checked as at registration."""
        flag = self.spec.idempotent if idempotent is None else idempotent
        _check_envelope(self.name, envelope, self.spec.risk, flag, self.fn)
        spec = replace(self.spec, envelope=envelope, timeout_s=envelope.timeout_s, idempotent=flag)
        return replace(self, spec=spec)

    def __call__(self, **arguments: Any) -> Any:
        """Call the function with `arguments` checked and bound to its declared types."""
        return self.fn(**self.bind(arguments))


def _one_decimal_spelling(value: Any) -> Any:
    """`value` with each Decimal in its shortest form: a Decimal parameter keeps the exponent
    it was written with, yet `5.5`, `"5.50"` and `"550E-2"` are one amount to the tool."""
    if isinstance(value, Decimal):
        if not value.is_finite() or value == 0:
            return Decimal(0) if value == 0 else value  # -0 and 0E-2 are the amount 0
        exact = Context(prec=len(value.as_tuple().digits), Emax=MAX_EMAX, Emin=MIN_EMIN)
        return value.normalize(exact)  # no rounding: the precision is the digits it has
    if isinstance(value, Mapping):
        return {k: _one_decimal_spelling(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_one_decimal_spelling(v) for v in value]
    return value


def _check_envelope(
    name: str, envelope: Envelope, risk: RiskClass, idempotent: bool, fn: Callable[..., Any]
) -> None:
    if not isinstance(envelope, Envelope):
        raise TetherError(ErrorCode.CONFIG_INVALID, f"tool {name}: envelope must be an Envelope")
    if not isinstance(idempotent, bool):
        raise TetherError(ErrorCode.CONFIG_INVALID, f"tool {name}: idempotent must be True/False")
    if envelope.inline and inspect.iscoroutinefunction(fn):
        raise TetherError(
            ErrorCode.CONFIG_INVALID,
            f"tool {name}: a coroutine function cannot run inline; it is cancelled at its "
            "deadline on a worker's event loop",
        )
    envelope.check_for(name, writes=risk is not RiskClass.READ, idempotent=idempotent)


def make_tool(
    fn: Callable[..., Any],
    *,
    name: str | None = None,
    description: str | None = None,
    risk: RiskClass = RiskClass.READ,
    scopes: Iterable[str] = (),
    output_trust: OutputTrust = OutputTrust.TRUSTED,
    resources: Mapping[str, str] | None = None,
    handoff: bool = False,
    timeout_s: float | None = None,
    envelope: Envelope | None = None,
    idempotent: bool = False,
    extra: ExtraKeys | None = None,
    requires_confirmation: bool = False,
    reconcile: Reconcile | None = None,
) -> Tool:
    """Build a Tool from a plain function; invalid settings fail here, at registration.

    `envelope` sets timeout, retry, breaker, rate limit and fallback (`timeout_s` alone is a
    shorthand for its timeout). `idempotent=True` declares that the tool honours the
    idempotency key (`current_idempotency_key()`), which is what makes retrying a tool with
    side effects safe. Without an envelope, tools with side effects that are not idempotent
    get a single attempt.

    `extra` says what happens to argument keys the tool does not declare, at any depth:
    "forbid" rejects the call (INVALID_ARGUMENTS), "ignore" drops the keys before the function
    sees them. Default: "forbid" for tools with side effects, "ignore" for read tools.

    `requires_confirmation=True`: every call waits as a pending action until the user
    confirms exactly it (see `tether.runtime.pending`), whatever the policies say.

    `reconcile(arguments, idempotency_key)` (writes only) answers, when a call timed out or
    lost its connection after it went out, whether it took effect: the output the call would
    have returned (or a `ToolOutcome`) if it did, None if it did not. It gets the call's
    canonical arguments and the key the call ran under. Without it, or when it raises, a run
    whose write has an unknown outcome escalates (OUTCOME_UNKNOWN) instead of guessing.
    """
    tool_name = name or fn.__name__
    if not isinstance(requires_confirmation, bool):
        raise TetherError(
            ErrorCode.CONFIG_INVALID, f"tool {tool_name}: requires_confirmation must be True/False"
        )
    if not tool_name.replace("_", "").isalnum():
        raise TetherError(ErrorCode.CONFIG_INVALID, f"tool name {tool_name!r} must be [A-Za-z0-9_]")
    if not isinstance(risk, RiskClass):
        raise TetherError(ErrorCode.CONFIG_INVALID, f"tool {tool_name}: risk must be a RiskClass")
    writes = risk is not RiskClass.READ
    if reconcile is not None and not (callable(reconcile) and writes):
        raise TetherError(
            ErrorCode.CONFIG_INVALID,
            f"tool {tool_name}: reconcile must be a function, and only a tool with side effects "
            "has an effect to reconcile",
        )
    if extra is None:  # a stray key is harmless on a read, but a write should do what was said
        extra = "forbid" if writes else "ignore"
    if extra not in ("forbid", "ignore"):
        raise TetherError(
            ErrorCode.CONFIG_INVALID,
            f"tool {tool_name}: extra must be 'forbid' or 'ignore', not {extra!r}",
        )
    if envelope is None:
        timeout = 10.0 if timeout_s is None else timeout_s
        if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout <= 0:
            raise TetherError(ErrorCode.CONFIG_INVALID, f"tool {tool_name}: timeout_s must be > 0")
        envelope = Envelope.default(writes=writes, idempotent=idempotent, timeout_s=timeout)
    elif timeout_s is not None and timeout_s != envelope.timeout_s:
        raise TetherError(
            ErrorCode.CONFIG_INVALID,
            f"tool {tool_name}: timeout_s={timeout_s} disagrees with envelope.timeout_s="
            f"{envelope.timeout_s}; set the timeout in one place",
        )
    _check_envelope(tool_name, envelope, risk, idempotent, fn)
    hints = _type_hints(fn, tool_name)
    input_model, bind_model = _input_models(fn, tool_name, hints, extra)
    check_resources(tool_name, resources or {}, input_model.model_json_schema())
    doc = description or inspect.getdoc(fn) or ""
    output_schema, output_adapter, output_type = _output_schema(hints)
    spec = ToolSpec(
        name=tool_name,
        description=doc.strip().split("\n\n")[0],
        input_schema=input_model.model_json_schema(),
        output_schema=output_schema,
        risk=risk,
        required_scopes=tuple(scopes),
        output_trust=output_trust,
        resources=dict(resources or {}),
        handoff=handoff,
        timeout_s=envelope.timeout_s,
        envelope=envelope,
        idempotent=idempotent,
        requires_confirmation=requires_confirmation,
        extra=extra,
    )
    return Tool(spec, fn, input_model, output_adapter, bind_model, reconcile, output_type)


def tool(
    fn: Callable[..., Any] | None = None, **settings: Any
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Decorator form of `make_tool`: `@tool` or `@tool(risk=RiskClass.WRITE, ...)`."""
    if fn is not None:
        return make_tool(fn, **settings)

    def wrap(f: Callable[..., Any]) -> Tool:
        return make_tool(f, **settings)

    return wrap


class ToolRegistry:
    """The tools a runtime knows, by name."""

    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        for t in tools:
            self.register(t)

    def register(self, t: Tool) -> None:
        if t.name in self._tools:
            raise TetherError(ErrorCode.CONFIG_INVALID, f"tool {t.name!r} is registered twice")
        for other in self._tools.values():
            _check_alternate(t, other)
            _check_alternate(other, t)
        self._tools[t.name] = t

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def names(self) -> list[str]:
        return sorted(self._tools)

    def specs(self, names: Iterable[str] | None = None) -> list[ToolSpec]:
        wanted = self.names() if names is None else [n for n in names if n in self._tools]
        return [self._tools[n].spec for n in wanted]


def _check_alternate(primary: Tool, alternate: Tool) -> None:
    """An alternate runs with the primary's arguments and grants, so it must fit them."""
    named = any(
        f.kind is FallbackKind.ALTERNATE and f.tool == alternate.name
        for f in primary.spec.envelope.fallback
    )
    if not named:
        return
    p, a = primary.spec, alternate.spec
    problem = ""
    if a.risk is not RiskClass.READ:
        problem = "it has side effects"
    elif not set(a.required_scopes) <= set(p.required_scopes):
        problem = "it needs scopes the primary does not"
    elif not set(a.resources.items()) <= set(p.resources.items()):
        problem = "it names resources the primary's ownership checks do not cover"
    elif set(a.input_schema.get("properties", {})) != set(p.input_schema.get("properties", {})):
        problem = "its arguments differ from the primary's"
    elif a.output_schema != p.output_schema:
        problem = "its output schema differs from the primary's"
    if problem:
        raise TetherError(
            ErrorCode.CONFIG_INVALID,
            f"tool {p.name}: {a.name} cannot be its alternate: {problem}",
        )
