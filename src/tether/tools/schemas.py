"""The schemas a tool's type hints make: the models its arguments are checked against and the
adapter its output is.

A type hint is rewritten into a JSON-shaped mirror and arguments are checked against it:
strictly (no string becomes a number, no NaN), with the tool's `extra` setting at every level
of nesting, and without changing values (an int given for a float stays an int). One model
gives the checked arguments as plain JSON, the other as the declared types (dataclass and
model instances, dicts for TypedDicts). `tether.tools.registry.make_tool` builds them at
registration.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections import abc
from collections.abc import Callable, Iterable, Mapping
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

from tether.core.errors import ErrorCode, TetherError

ExtraKeys = Literal["forbid", "ignore"]


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
_CONTAINERS = {list, tuple, dict, abc.Sequence, abc.Mapping}
_KEY_WRAPPERS = {Required, NotRequired, ReadOnly}
# a set's JSON array comes out in hash order, which differs between processes: the recorded
# arguments and the idempotency key they make would not be stable
_UNORDERED = {set, frozenset, abc.Set, abc.MutableSet}
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
        if hint in _UNORDERED or origin in _UNORDERED:
            raise TypeError(
                "a set has no order in JSON; declare a list and drop repeats in the tool"
            )
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


def _output_schema(
    hints: Mapping[str, Any],
) -> tuple[dict[str, Any], TypeAdapter[Any] | None, TypeAdapter[Any] | None]:
    """The output schema, the adapter that checks output against it, and one of the declared
    return type itself, which dumps what the function returns (a model, an enum) to JSON."""
    ret = hints.get("return", Any)
    if ret is Any:
        return {}, None, None
    try:
        adapter: TypeAdapter[Any] = TypeAdapter(_Mirror(_OUTPUT_CONFIG, build=False)(ret))
        schema: dict[str, Any] = adapter.json_schema()
    except Exception:  # an unschematisable return type still registers, as "any JSON"
        return {}, None, None
    try:
        declared: TypeAdapter[Any] | None = TypeAdapter(ret)
    except Exception:  # e.g. typing's TypedDict before 3.12: output is taken as plain JSON
        declared = None
    return schema, adapter, declared


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
