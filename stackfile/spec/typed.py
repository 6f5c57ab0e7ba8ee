"""A small frozen-model base for the typed stack: annotations in, checked and converted values out.

Why not pydantic: importing it (and building the ~30 classes of ``model``) cost ~110 ms per
command, the largest single cost of ``up`` (a 5-service ``up`` has a 300 ms budget), and the
loader's JSON-schema stage has already checked every value's shape with file and line. What is
left is conversion, which this module does with pydantic v2's lax rules for the few types the
model uses: ``str``, ``int``, ``float``, ``bool``, ``None``, ``Literal``, ``Any``, ``tuple[X, ...]``,
``dict[str, X]``, unions (exact matches first, then conversions, in order), nested models, and
``Annotated[..., BeforeValidator(fn)]``. The API mirrors the part of pydantic the code used
(``Field``, ``field_validator``, ``model_validate``, ``model_copy``, ``model_dump``,
``model_extra``), so models read the same.

Unknown keys are kept as extras (``x-*`` and rarely used Compose keys), readable as attributes.
Conversion errors are collected with their location and raised together as :class:`ModelError`.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, dataclass_transform

__all__ = ["BeforeValidator", "Field", "FrozenModel", "ModelError", "field_validator"]

_MISSING: Any = object()
Loc = tuple[int | str, ...]


class ModelError(ValueError):
    """Every conversion error of one ``model_validate``: ``errors`` holds (loc, message, input)."""

    def __init__(self, errors: list[tuple[Loc, str, Any]]) -> None:
        super().__init__(f"{len(errors)} validation error(s)")
        self.errors = errors


class _Invalid(Exception):
    def __init__(self, message: str, value: Any) -> None:
        self.message, self.value = message, value


class BeforeValidator:
    """``Annotated[T, BeforeValidator(fn)]``: ``fn`` maps the raw value before conversion to ``T``."""

    def __init__(self, func: Callable[[Any], Any]) -> None:
        self.func = func


class _FieldInfo:
    def __init__(self, default: Any, default_factory: Callable[[], Any] | None, alias: str | None) -> None:
        self.default, self.default_factory, self.alias = default, default_factory, alias


def Field(default: Any = _MISSING, *, default_factory: Callable[[], Any] | None = None,
          alias: str | None = None) -> Any:
    """A field's default (or default factory) and the input key it is read from (``alias``)."""
    return _FieldInfo(default, default_factory, alias)


def field_validator(*names: str, mode: str = "before") -> Callable[[Any], Any]:
    """Mark a classmethod as a before-validator of the named fields."""
    if mode != "before":
        raise ValueError("only mode='before' validators are supported")

    def mark(func: Any) -> Any:
        target = func.__func__ if isinstance(func, classmethod) else func
        setattr(target, "__validates__", names)  # noqa: B010 - a function attribute mypy cannot see
        return func
    return mark


# ------------------------------------------------------------------------------------------ converters

Converter = Callable[[Any, Loc, list[tuple[Loc, str, Any]]], Any]
_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"0", "off", "f", "false", "n", "no"})


def _str(value: Any, strict: bool) -> Any:
    if isinstance(value, str):
        return value
    raise _Invalid("Input should be a valid string", value)


def _int(value: Any, strict: bool) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if not strict:
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
            raise _Invalid("Input should be a valid integer, unable to parse string as an integer", value)
    raise _Invalid("Input should be a valid integer", value)


def _float(value: Any, strict: bool) -> Any:
    if isinstance(value, float):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not strict:
        if isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value.strip())
            except ValueError:
                pass
            raise _Invalid("Input should be a valid number, unable to parse string as a number", value)
    raise _Invalid("Input should be a valid number", value)


def _bool(value: Any, strict: bool) -> Any:
    if isinstance(value, bool):
        return value
    if not strict:
        if isinstance(value, int | float) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
    raise _Invalid("Input should be a valid boolean", value)


def _none(value: Any, strict: bool) -> Any:
    if value is None:
        return None
    raise _Invalid("Input should be None", value)


_SCALARS: dict[Any, Callable[[Any, bool], Any]] = {str: _str, int: _int, float: _float, bool: _bool,
                                                    type(None): _none, None: _none}


def _converter(tp: Any, strict: bool = False) -> Converter:
    """A function converting a raw value to ``tp`` (appending errors, returning the value)."""
    origin = typing.get_origin(tp)
    if tp is Any:
        return lambda v, loc, errs: v
    if tp in _SCALARS:
        scalar = _SCALARS[tp]

        def conv_scalar(v: Any, loc: Loc, errs: list[tuple[Loc, str, Any]]) -> Any:
            try:
                return scalar(v, strict)
            except _Invalid as exc:
                errs.append((loc, exc.message, exc.value))
                return v
        return conv_scalar
    if isinstance(tp, type) and issubclass(tp, FrozenModel):
        return lambda v, loc, errs: tp._convert(v, loc, errs)
    if origin is typing.Annotated:
        inner, *meta = typing.get_args(tp)
        base = _converter(inner, strict)
        befores = [m.func for m in meta if isinstance(m, BeforeValidator)]

        def conv_annotated(v: Any, loc: Loc, errs: list[tuple[Loc, str, Any]]) -> Any:
            try:
                for fn in befores:
                    v = fn(v)
            except (TypeError, ValueError) as exc:
                errs.append((loc, f"Value error, {exc}", v))
                return v
            return base(v, loc, errs)
        return conv_annotated
    if origin is typing.Literal:
        choices = typing.get_args(tp)
        text = " or ".join(", ".join(repr(c) for c in choices).rsplit(", ", 1))

        def conv_literal(v: Any, loc: Loc, errs: list[tuple[Loc, str, Any]]) -> Any:
            if v in choices:
                return v
            errs.append((loc, f"Input should be {text}", v))
            return v
        return conv_literal
    if origin is tuple:
        args = typing.get_args(tp)
        item = _converter(args[0], strict)

        def conv_tuple(v: Any, loc: Loc, errs: list[tuple[Loc, str, Any]]) -> Any:
            if isinstance(v, list | tuple | set | frozenset):
                return tuple(item(x, (*loc, i), errs) for i, x in enumerate(v))
            errs.append((loc, "Input should be a valid tuple", v))
            return v
        return conv_tuple
    if origin is dict:
        key, value = (_converter(a, strict) for a in typing.get_args(tp))

        def conv_dict(v: Any, loc: Loc, errs: list[tuple[Loc, str, Any]]) -> Any:
            if isinstance(v, Mapping):
                return {key(k, (*loc, k), errs): value(x, (*loc, k), errs) for k, x in v.items()}
            errs.append((loc, "Input should be a valid dictionary", v))
            return v
        return conv_dict
    if origin in (typing.Union, types.UnionType):
        return _union(typing.get_args(tp))
    raise TypeError(f"unsupported type in a model: {tp!r}")


def _union(members: tuple[Any, ...]) -> Converter:
    """pydantic's smart union: the first member that takes the value without conversion wins,
    else the first that converts it; errors are those of the first member that is not None."""
    strict = [_converter(m, strict=True) for m in members]
    lax = [_converter(m) for m in members]
    report = next((i for i, m in enumerate(members) if m not in (None, type(None))), 0)

    def conv_union(v: Any, loc: Loc, errs: list[tuple[Loc, str, Any]]) -> Any:
        first: list[tuple[Loc, str, Any]] = []
        for attempt in (strict, lax):
            for i, conv in enumerate(attempt):
                mine: list[tuple[Loc, str, Any]] = []
                out = conv(v, loc, mine)
                if not mine:
                    return out
                if attempt is lax and i == report:
                    first = mine
        errs.extend(first)  # the first non-None member's errors (``X | None`` reads as X)
        return v
    return conv_union


# ------------------------------------------------------------------------------------------ the base


@dataclass_transform(kw_only_default=True, field_specifiers=(Field,))
class FrozenModel:
    """Immutable typed record built from a mapping; unknown keys kept as extras."""

    __fields__: ClassVar[dict[str, tuple[str | None, Any, Callable[[], Any] | None]]]
    __validators__: ClassVar[dict[str, list[Callable[[Any], Any]]]]
    __converters__: ClassVar[dict[str, Converter] | None]
    model_extra: dict[str, Any]  # unknown keys, as given (set per instance, not a field)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        parent: Any = next((b for b in cls.__mro__[1:] if "__fields__" in b.__dict__), None)
        fields = dict(parent.__fields__) if parent is not None else {}
        validators = {k: list(v) for k, v in parent.__validators__.items()} if parent is not None else {}
        for name in inspect.get_annotations(cls):
            if name.startswith("_") or name == "model_extra":
                continue
            raw = cls.__dict__.get(name, _MISSING)
            if isinstance(raw, _FieldInfo):
                fields[name] = (raw.alias, raw.default, raw.default_factory)
            else:
                fields[name] = (None, raw, None)
            if name in cls.__dict__:
                delattr(cls, name)
        for attr in list(cls.__dict__.values()):
            target = attr.__func__ if isinstance(attr, classmethod) else attr
            for name in getattr(target, "__validates__", ()):
                validators.setdefault(name, []).append(getattr(cls, target.__name__))
        cls.__fields__, cls.__validators__, cls.__converters__ = fields, validators, None

    @classmethod
    def _field_converters(cls) -> dict[str, Converter]:
        if cls.__converters__ is None:  # resolved on first use: annotations name later classes
            hints = typing.get_type_hints(cls, include_extras=True)
            cls.__converters__ = {name: _converter(hints[name]) for name in cls.__fields__}
        return cls.__converters__

    @classmethod
    def _convert(cls, value: Any, loc: Loc, errs: list[tuple[Loc, str, Any]]) -> Any:
        if isinstance(value, cls):
            return value
        if not isinstance(value, Mapping):
            errs.append((loc, f"Input should be a valid dictionary or instance of {cls.__name__}", value))
            return value
        converters = cls._field_converters()
        data = dict(value)
        values: dict[str, Any] = {}
        for name, (alias, default, factory) in cls.__fields__.items():
            key = alias if alias is not None and alias in data else name
            if key not in data:
                if factory is not None:
                    values[name] = factory()
                elif default is _MISSING:
                    errs.append(((*loc, alias or name), "Field required", value))
                else:
                    values[name] = default
                continue
            raw = data.pop(key)
            try:
                for fn in cls.__validators__.get(name, ()):
                    raw = fn(raw)
            except (TypeError, ValueError) as exc:
                errs.append(((*loc, alias or name), f"Value error, {exc}", raw))
                continue
            values[name] = converters[name](raw, (*loc, alias or name), errs)
        return _rebuild(cls, values, data)

    @classmethod
    def model_validate(cls, value: Any) -> Any:
        """Convert a mapping to this model; :class:`ModelError` lists every bad value."""
        errs: list[tuple[Loc, str, Any]] = []
        out = cls._convert(value, (), errs)
        if errs:
            raise ModelError(errs)
        return out

    def __init__(self, **data: Any) -> None:
        built = type(self).model_validate(data)
        object.__setattr__(self, "__dict__", built.__dict__)

    def __getattr__(self, name: str) -> Any:  # extras read as attributes, as pydantic allows
        extra = self.__dict__.get("model_extra") or {}
        if name in extra:
            return extra[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={self.__dict__[k]!r}" for k in self.__fields__)
        return f"{type(self).__name__}({fields})"

    def __reduce__(self) -> Any:
        values = {k: self.__dict__[k] for k in self.__fields__}
        return (_rebuild, (type(self), values, dict(self.model_extra)))

    def model_copy(self, *, update: Mapping[str, Any] | None = None) -> Any:
        """A copy with ``update`` applied as is (not converted, as pydantic's ``model_copy``)."""
        values = {k: self.__dict__[k] for k in self.__fields__}
        extra = dict(self.model_extra)
        for key, value in (update or {}).items():
            (values if key in self.__fields__ else extra)[key] = value
        return _rebuild(type(self), values, extra)

    def model_dump(self, *, mode: str = "python", by_alias: bool = False) -> dict[str, Any]:
        """Fields (then extras) as plain data; ``mode="json"`` turns tuples into lists."""
        out = {}
        for name, (alias, _, _) in self.__fields__.items():
            out[alias if by_alias and alias else name] = _dump(self.__dict__[name], mode, by_alias)
        for key, value in self.model_extra.items():
            out[key] = _dump(value, mode, by_alias)
        return out


def _rebuild(cls: type[FrozenModel], values: dict[str, Any], extra: dict[str, Any]) -> Any:
    self = object.__new__(cls)
    values["model_extra"] = extra
    object.__setattr__(self, "__dict__", values)
    return self


def _dump(value: Any, mode: str, by_alias: bool) -> Any:
    if isinstance(value, FrozenModel):
        return value.model_dump(mode=mode, by_alias=by_alias)
    if isinstance(value, Mapping):
        return {k: _dump(v, mode, by_alias) for k, v in value.items()}
    if isinstance(value, list | tuple):
        items = [_dump(v, mode, by_alias) for v in value]
        return items if mode == "json" or isinstance(value, list) else tuple(items)
    return value
