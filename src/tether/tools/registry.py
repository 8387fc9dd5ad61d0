"""Tool registration: a typed callable plus its spec, with schemas derived from type hints.

Arguments are checked against a JSON-shaped mirror of the declared types: strictly (no string
becomes a number, no NaN), with the tool's `extra` setting at every level of nesting, and
without changing values (an int given for a float stays an int). `Tool.validate` returns the
checked arguments as plain JSON; `Tool.bind` returns them as the declared types (dataclass and
model instances, dicts for TypedDicts), which is what the function is called with.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections import abc
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from types import UnionType
from typing import (
    Annotated,
    Any,
    Literal,
    NotRequired,
    Required,
    Union,
    cast,
    get_args,
    get_origin,
    get_type_hints,
)

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    TypeAdapter,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    create_model,
)
from typing_extensions import ReadOnly, TypedDict, is_typeddict

from tether.core.envelope import Envelope, FallbackKind
from tether.core.errors import ErrorCode, TetherError
from tether.core.selectors import check_resources
from tether.core.types import OutputTrust, RiskClass, ToolSpec

ExtraKeys = Literal["forbid", "ignore"]
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

    @property
    def name(self) -> str:
        return self.spec.name

    def validate(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """The arguments checked against the input schema, as plain JSON: keys the tool ignores
        are dropped and parameters left out stay out. Raises INVALID_ARGUMENTS with details."""
        self.bind(arguments)  # the declared types' own checks (e.g. __post_init__) run too
        return self._parse(self.input_model, arguments)

    def bind(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """The checked arguments as the function's declared types; raises INVALID_ARGUMENTS."""
        return self._parse(self.bind_model or self.input_model, arguments)

    def _parse(self, model: type[BaseModel], arguments: Mapping[str, Any]) -> dict[str, Any]:
        if not isinstance(arguments, Mapping):
            raise TetherError(ErrorCode.INVALID_ARGUMENTS, "arguments must be a JSON object")
        try:
            parsed = model.model_validate(dict(arguments))
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
        return {name: getattr(parsed, name) for name in type(parsed).model_fields if name in given}

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
        _check_envelope(self.name, envelope, self.spec.risk, flag, self.fn)
        spec = replace(self.spec, envelope=envelope, timeout_s=envelope.timeout_s, idempotent=flag)
        return replace(self, spec=spec)

    def __call__(self, **arguments: Any) -> Any:
        """Call the function with `arguments` checked and bound to its declared types."""
        return self.fn(**self.bind(arguments))


def _keep_int(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """A float parameter takes an int as it is: checked as a number, handed on as 250."""
    if type(value) is not int:  # bool is not int here, so True stays rejected
        return handler(value)
    try:
        handler(float(value))
    except OverflowError:
        raise ValueError("the number is too large") from None
    return value


_KEEP_INT = WrapValidator(_keep_int)
_CONTAINERS = {list, set, frozenset, tuple, dict, abc.Sequence, abc.Mapping}
_KEY_WRAPPERS = {Required, NotRequired, ReadOnly}
_OUTPUT_CONFIG = ConfigDict(extra="ignore", strict=True)


def _subscript(generic: Any, args: Iterable[Any]) -> Any:
    return cast(Any, generic)[tuple(args)]


class _Mirror:
    """Rewrites a type hint into the JSON-shaped type the arguments are validated against.

    Dataclasses, TypedDicts (typing's included) and pydantic models become TypedDicts under
    the tool's config, so nested objects follow the tool's strictness; with `build`, each is
    then turned into the declared type.
    """

    def __init__(self, config: ConfigDict, build: bool) -> None:
        self.config, self.build = config, build
        self._done: dict[type, Any] = {}
        self._open: set[type] = set()

    def __call__(self, hint: Any) -> Any:
        origin, args = get_origin(hint), get_args(hint)
        if hint is float:
            return Annotated[float, _KEEP_INT]
        if origin is Annotated:
            if args[0] is float:  # last, so that constraints such as gt=0 also check ints
                return _subscript(Annotated, (float, *args[1:], _KEEP_INT))
            return _subscript(Annotated, (self(args[0]), *args[1:]))
        if origin in (Union, UnionType):
            return _subscript(Union, map(self, args))
        if origin in _CONTAINERS and args:
            return _subscript(origin, map(self, args))
        if isinstance(hint, type) and (
            is_typeddict(hint) or dataclasses.is_dataclass(hint) or issubclass(hint, BaseModel)
        ):
            return self._object(hint)
        return hint

    def _object(self, cls: type) -> Any:
        if cls in self._done:
            return self._done[cls]
        if cls in self._open:
            raise TypeError(f"{cls.__name__} contains itself; recursive types are not supported")
        self._open.add(cls)
        try:
            hints, required = _keys(cls)
            keys = {k: self(h) if k in required else NotRequired[self(h)] for k, h in hints.items()}
        finally:
            self._open.discard(cls)
        factory: Any = TypedDict  # the functional form, with keys known only at run time
        mirror = factory(cls.__name__, keys)
        mirror.__module__, mirror.__qualname__ = cls.__module__, cls.__qualname__
        mirror.__doc__ = None if dataclasses.is_dataclass(cls) else cls.__doc__
        mirror.__pydantic_config__ = self.config
        built = _subscript(Annotated, (mirror, AfterValidator(_builder(cls))))
        self._done[cls] = built if self.build and not is_typeddict(cls) else mirror
        return self._done[cls]


def _keys(cls: type) -> tuple[dict[str, Any], set[str]]:
    """The keys of the JSON object for `cls`: each one's type hint, and which are required."""
    if is_typeddict(cls):
        hints = get_type_hints(cls, include_extras=True)
        for key, hint in hints.items():
            while get_origin(hint) in _KEY_WRAPPERS:
                hint = get_args(hint)[0]
            hints[key] = hint
        return hints, set(cast(Any, cls).__required_keys__)
    if dataclasses.is_dataclass(cls):
        hints = get_type_hints(cls, include_extras=True)
        fields = [f for f in dataclasses.fields(cls) if f.init]
        missing = dataclasses.MISSING
        required = {f.name for f in fields if f.default is missing and f.default_factory is missing}
        return {f.name: hints[f.name] for f in fields}, required
    assert issubclass(cls, BaseModel)
    if issubclass(cls, RootModel):
        raise TypeError(f"{cls.__name__} is a RootModel; declare its root type instead")
    if not cls.__pydantic_complete__:
        cls.model_rebuild()  # resolves forward references now, or raises here at registration
    hints, required = {}, set()
    for name, info in cls.model_fields.items():
        alias = info.validation_alias
        if alias is not None and not isinstance(alias, str):
            raise TypeError(f"{cls.__name__}.{name} has an AliasPath/AliasChoices alias")
        key = alias or info.alias or name
        extras = [*info.metadata, *([Field(description=info.description)] * bool(info.description))]
        hints[key] = (
            _subscript(Annotated, (info.annotation, *extras)) if extras else info.annotation
        )
        if info.is_required():
            required.add(key)
    return hints, required


def _builder(cls: type) -> Callable[[dict[str, Any]], Any]:
    """Turns a checked JSON object into `cls`; its own checks failing is a validation error."""

    def build(values: dict[str, Any]) -> Any:
        try:
            if issubclass(cls, BaseModel):
                return cls.model_validate(values)
            return cls(**values)
        except ValidationError as exc:
            first = exc.errors(include_url=False, include_input=False)[0]
            raise ValueError(f"{cls.__name__}: {first['msg']}") from None
        except Exception as exc:  # e.g. a __post_init__ that rejects the values
            raise ValueError(f"{cls.__name__}: {exc}") from None

    return build


def _input_models(
    fn: Callable[..., Any], name: str, hints: Mapping[str, Any], extra: ExtraKeys
) -> tuple[type[BaseModel], type[BaseModel]]:
    """The models that check a call's arguments: one gives plain JSON, one the declared types."""
    config = ConfigDict(extra=extra, strict=True, allow_inf_nan=False)
    plain, bound = _Mirror(config, build=False), _Mirror(config, build=True)
    plain_fields: dict[str, Any] = {}
    bound_fields: dict[str, Any] = {}
    for param in inspect.signature(fn).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise TetherError(ErrorCode.CONFIG_INVALID, f"tool {name}: *args/**kwargs not allowed")
        if param.name not in hints:
            raise TetherError(
                ErrorCode.CONFIG_INVALID, f"tool {name}: parameter {param.name!r} has no type hint"
            )
        default = ... if param.default is param.empty else param.default
        try:  # build each parameter alone first, so that a failure names it
            plain_fields[param.name] = (plain(hints[param.name]), default)
            bound_fields[param.name] = (bound(hints[param.name]), default)
            for fields in (plain_fields, bound_fields):
                one = {param.name: fields[param.name]}
                probe = create_model(f"{name}_probe", __config__=config, **one)
                probe.model_json_schema()
                if param.name not in probe.model_fields:  # pydantic took it for a private name
                    raise ValueError("names starting with '_' are private to pydantic; rename it")
        except Exception as exc:
            raise TetherError(
                ErrorCode.CONFIG_INVALID,
                f"tool {name}: parameter {param.name!r} ({_show(hints[param.name])}) cannot be "
                f"validated: {_reason(exc)}",
                {"parameter": param.name},
            ) from None
    try:
        input_model = create_model(f"{name}_input", __config__=config, **plain_fields)
        bind_model = create_model(f"{name}_arguments", __config__=config, **bound_fields)
    except Exception as exc:
        raise TetherError(
            ErrorCode.CONFIG_INVALID, f"tool {name}: its parameters do not fit: {_reason(exc)}"
        ) from None
    return input_model, bind_model


def _output_schema(hints: Mapping[str, Any]) -> tuple[dict[str, Any], TypeAdapter[Any] | None]:
    ret = hints.get("return", Any)
    if ret is Any:
        return {}, None
    try:
        adapter: TypeAdapter[Any] = TypeAdapter(_Mirror(_OUTPUT_CONFIG, build=False)(ret))
        schema: dict[str, Any] = adapter.json_schema()
    except Exception:  # an unschematisable return type still registers, as "any JSON"
        return {}, None
    return schema, adapter


def _type_hints(fn: Callable[..., Any], name: str) -> dict[str, Any]:
    try:
        return get_type_hints(fn, include_extras=True)
    except Exception as exc:  # e.g. a string annotation naming something not importable
        raise TetherError(
            ErrorCode.CONFIG_INVALID, f"tool {name}: its type hints do not resolve: {_reason(exc)}"
        ) from None


def _show(hint: Any) -> str:
    return hint.__name__ if isinstance(hint, type) else repr(hint)


def _reason(exc: BaseException) -> str:
    """The first line of an exception's message (pydantic appends a URL on later lines)."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


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
    output_schema, output_adapter = _output_schema(hints)
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
    return Tool(spec, fn, input_model, output_adapter, bind_model, reconcile)


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
