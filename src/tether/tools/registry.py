"""Tool registration: a typed callable plus its spec, with schemas derived from type hints."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, get_type_hints

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError, create_model

from tether.core.errors import ErrorCode, TetherError
from tether.core.types import OutputTrust, RiskClass, ToolSpec


@dataclass(frozen=True)
class Tool:
    """A registered tool: its spec, the function, and the model that validates its input."""

    spec: ToolSpec
    fn: Callable[..., Any]
    input_model: type[BaseModel]

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


def _output_schema(fn: Callable[..., Any]) -> dict[str, Any]:
    ret = get_type_hints(fn).get("return", Any)
    try:
        schema: dict[str, Any] = TypeAdapter(ret).json_schema()
    except Exception:  # an unschematisable return type still registers, as "any JSON"
        schema = {}
    return schema


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
    timeout_s: float = 10.0,
) -> Tool:
    """Build a Tool from a plain function; invalid settings fail here, at registration."""
    tool_name = name or fn.__name__
    if not tool_name.replace("_", "").isalnum():
        raise TetherError(ErrorCode.CONFIG_INVALID, f"tool name {tool_name!r} must be [A-Za-z0-9_]")
    if timeout_s <= 0:
        raise TetherError(ErrorCode.CONFIG_INVALID, f"tool {tool_name}: timeout_s must be > 0")
    input_model = _input_model(fn, tool_name)
    unknown = set(resources or {}) - set(input_model.model_fields)
    if unknown:
        raise TetherError(
            ErrorCode.CONFIG_INVALID,
            f"tool {tool_name}: resources name unknown arguments {sorted(unknown)}",
        )
    doc = description or inspect.getdoc(fn) or ""
    spec = ToolSpec(
        name=tool_name,
        description=doc.strip().split("\n\n")[0],
        input_schema=input_model.model_json_schema(),
        output_schema=_output_schema(fn),
        risk=risk,
        required_scopes=tuple(scopes),
        output_trust=output_trust,
        resources=dict(resources or {}),
        handoff=handoff,
        timeout_s=timeout_s,
    )
    return Tool(spec=spec, fn=fn, input_model=input_model)


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
        self._tools[t.name] = t

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def names(self) -> list[str]:
        return sorted(self._tools)

    def specs(self, names: Iterable[str] | None = None) -> list[ToolSpec]:
        wanted = self.names() if names is None else [n for n in names if n in self._tools]
        return [self._tools[n].spec for n in wanted]
