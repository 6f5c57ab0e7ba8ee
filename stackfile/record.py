"""Immutable value records that cost nothing to define.

A record class declares its fields as annotations and their defaults as class attributes::

    class Mount(Record):
        type: str
        target: str
        read_only: bool = False

and gets what ``typing.NamedTuple`` gave the value types on the ``container run`` path: a
constructor taking fields by position or keyword (a missing or unknown field is a TypeError),
``_fields``, ``_field_defaults``, ``_replace(**changes)``, ``_asdict()``, equality and hashing by
value (a record equals only a record of its own class), a ``Name(field=value, ...)`` repr,
iteration over the values (``argv, env = ...`` unpacking), and no attribute assignment.

Why not NamedTuple: ``typing`` costs ~3 ms to import in a clean interpreter, a NamedTuple with
string annotations compiles a ``typing.ForwardRef`` per field, and ``collections.namedtuple`` still
evaluates a generated constructor per class (~0.1-0.3 ms each). Defining a record compiles nothing: one
generic ``__init__`` serves every class, and annotations stay strings
(``from __future__ import annotations``) that are never evaluated.

Unlike a NamedTuple a record is not a tuple: no indexing, no ``len``, no ordering, and
``json.dumps`` does not accept it (use ``_asdict()``).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any, ClassVar, Self, dataclass_transform
else:
    def dataclass_transform(**_kwargs: object) -> object:
        return lambda cls: cls

__all__ = ["Record"]


@dataclass_transform(eq_default=True, frozen_default=True)
class Record:
    """Base of immutable value records (see the module doc)."""

    _fields: ClassVar[tuple[str, ...]] = ()
    _field_defaults: ClassVar[dict[str, Any]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # the class's own annotations, unevaluated (strings); inspect.get_annotations would import inspect
        own = cls.__dict__.get("__annotations__", {})  # noqa: RUF063
        new = [f for f, kind in own.items() if f[0] != "_" and not str(kind).startswith("ClassVar")]
        fields = (*cls._fields, *(f for f in new if f not in cls._fields))
        defaults = {**cls._field_defaults, **{f: cls.__dict__[f] for f in own if f in cls.__dict__}}
        cls._fields = fields
        cls._field_defaults = defaults

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        cls = type(self)
        fields = cls._fields
        if len(args) > len(fields):
            raise TypeError(f"{cls.__name__}() takes {len(fields)} positional arguments but "
                            f"{len(args)} were given")
        values = self.__dict__
        values.update(zip(fields, args, strict=False))  # fewer args than fields: defaults follow
        defaults = cls._field_defaults
        for name in fields[len(args):]:
            if name in kwargs:
                values[name] = kwargs.pop(name)
            elif name in defaults:
                values[name] = defaults[name]
            else:
                raise TypeError(f"{cls.__name__}() missing 1 required argument: {name!r}")
        if kwargs:
            name = next(iter(kwargs))
            if name in fields:
                raise TypeError(f"{cls.__name__}() got multiple values for argument {name!r}")
            raise TypeError(f"{cls.__name__}() got an unexpected keyword argument {name!r}")

    def _values(self) -> tuple[Any, ...]:
        values = self.__dict__
        return tuple([values[name] for name in self._fields])

    def _replace(self, **changes: Any) -> Self:
        """A copy with ``changes`` applied; an unknown field name is a ValueError (as NamedTuple)."""
        unknown = [name for name in changes if name not in self._fields]
        if unknown:
            raise ValueError(f"Got unexpected field names: {unknown!r}")
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.__dict__.update(changes)
        return new

    def _asdict(self) -> dict[str, Any]:
        """The fields and their values, in declaration order (not recursive)."""
        return dict(zip(self._fields, self._values(), strict=True))

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values())

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._values() == other._values()

    def __ne__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._values() != other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        values = self.__dict__
        inner = ", ".join(f"{name}={values[name]!r}" for name in self._fields)
        return f"{type(self).__name__}({inner})"

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable: use _replace({name}=...)")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), self._values())
