"""Tool registration: a typed callable plus its spec, with schemas derived from type hints."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, get_type_hints

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError, create_model

from tether.core.envelope import Envelope, FallbackKind
from tether.core.errors import ErrorCode, TetherError
from tether.core.types import OutputTrust, RiskClass, ToolSpec


@dataclass(frozen=True)
class Tool:
    """A registered tool: its spec, the function, and the model that validates its input."""

    spec: ToolSpec
    fn: Callable[..., Any]
    input_model: type[BaseModel]
    output_adapter: TypeAdapter[Any] | None = None  # None: any JSON is accepted

    @property
    def name(self) -> str:
        return self.spec.name

    def validate(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """Check arguments against the input schema; raise INVALID_ARGUMENTS with details."""
        if not isinstance(arguments, Mapping):
            raise TetherError(ErrorCode.INVALID_ARGUMENTS, "arguments must be a JSON object")
        try:
            parsed = self.input_model.model_validate(dict(arguments))
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
        return {name: getattr(parsed, name) for name in type(parsed).model_fields}

    def output_problem(self, output: Any) -> str:
        """Why `output` does not fit the output schema, or "" when it does."""
        if self.output_adapter is None:
            return ""
        try:
            self.output_adapter.validate_python(output, strict=True)
        except ValidationError as exc:
            first = exc.errors(include_url=False, include_input=False)[0]
            where = ".".join(str(p) for p in first["loc"]) or "(root)"
            return f"{where}: {first['msg']}"
        return ""

    def with_envelope(self, envelope: Envelope, *, idempotent: bool | None = None) -> Tool:
        """This tool under other envelope settings, checked as at registration."""
        flag = self.spec.idempotent if idempotent is None else idempotent
        _check_envelope(self.name, envelope, self.spec.risk, flag)
        spec = replace(self.spec, envelope=envelope, timeout_s=envelope.timeout_s, idempotent=flag)
        return replace(self, spec=spec)

    def __call__(self, **arguments: Any) -> Any:
        return self.fn(**arguments)


def _input_model(fn: Callable[..., Any], name: str) -> type[BaseModel]:
    hints = get_type_hints(fn)
    fields: dict[str, Any] = {}
    for param in inspect.signature(fn).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise TetherError(ErrorCode.CONFIG_INVALID, f"tool {name}: *args/**kwargs not allowed")
        if param.name not in hints:
            raise TetherError(
                ErrorCode.CONFIG_INVALID, f"tool {name}: parameter {param.name!r} has no type hint"
            )
        default = ... if param.default is param.empty else param.default
        fields[param.name] = (hints[param.name], default)
    config = ConfigDict(extra="forbid", strict=True)
    model: type[BaseModel] = create_model(f"{name}_input", __config__=config, **fields)
    return model


def _output_schema(fn: Callable[..., Any]) -> tuple[dict[str, Any], TypeAdapter[Any] | None]:
    ret = get_type_hints(fn).get("return", Any)
    if ret is Any:
        return {}, None
    try:
        adapter: TypeAdapter[Any] = TypeAdapter(ret)
        schema: dict[str, Any] = adapter.json_schema()
    except Exception:  # an unschematisable return type still registers, as "any JSON"
        return {}, None
    return schema, adapter


def _check_envelope(name: str, envelope: Envelope, risk: RiskClass, idempotent: bool) -> None:
    if not isinstance(envelope, Envelope):
        raise TetherError(ErrorCode.CONFIG_INVALID, f"tool {name}: envelope must be an Envelope")
    if not isinstance(idempotent, bool):
        raise TetherError(ErrorCode.CONFIG_INVALID, f"tool {name}: idempotent must be True/False")
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
) -> Tool:
    """Build a Tool from a plain function; invalid settings fail here, at registration.

    `envelope` sets timeout, retry, breaker, rate limit and fallback (`timeout_s` alone is a
    shorthand for its timeout). `idempotent=True` declares that the tool honours the
    idempotency key (`current_idempotency_key()`), which is what makes retrying a tool with
    side effects safe. Without an envelope, tools with side effects that are not idempotent
    get a single attempt.
    """
    tool_name = name or fn.__name__
    if not tool_name.replace("_", "").isalnum():
        raise TetherError(ErrorCode.CONFIG_INVALID, f"tool name {tool_name!r} must be [A-Za-z0-9_]")
    if not isinstance(risk, RiskClass):
        raise TetherError(ErrorCode.CONFIG_INVALID, f"tool {tool_name}: risk must be a RiskClass")
    writes = risk is not RiskClass.READ
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
    _check_envelope(tool_name, envelope, risk, idempotent)
    input_model = _input_model(fn, tool_name)
    unknown = set(resources or {}) - set(input_model.model_fields)
    if unknown:
        raise TetherError(
            ErrorCode.CONFIG_INVALID,
            f"tool {tool_name}: resources name unknown arguments {sorted(unknown)}",
        )
    doc = description or inspect.getdoc(fn) or ""
    output_schema, output_adapter = _output_schema(fn)
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
    )
    return Tool(spec=spec, fn=fn, input_model=input_model, output_adapter=output_adapter)


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
