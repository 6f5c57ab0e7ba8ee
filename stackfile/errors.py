"""The one error root of stackfile.

Every error a user can see is a :class:`StackfileError` of one closed category. The category
decides the CLI exit code and the HTTP status; the error carries the message, where it happened
(file:line:col and the dotted key path) and a hint saying what would be valid.
"""

from __future__ import annotations

import enum

TYPE_CHECKING = False  # not typing's: typing costs ~3 ms to import
if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "EXIT_CODES",
    "HTTP_STATUS",
    "Category",
    "Conflict",
    "Internal",
    "InvalidSpec",
    "Location",
    "NotFound",
    "PermissionDenied",
    "StackfileError",
    "Unavailable",
]


class Category(enum.Enum):
    """The closed set of error kinds."""

    INVALID_SPEC = "invalid-spec"
    NOT_FOUND = "not-found"
    CONFLICT = "conflict"
    UNAVAILABLE = "unavailable"
    PERMISSION = "permission"
    INTERNAL = "internal"


EXIT_CODES: dict[Category, int] = {
    Category.INVALID_SPEC: 15,
    Category.NOT_FOUND: 14,
    Category.CONFLICT: 16,
    Category.UNAVAILABLE: 17,
    Category.PERMISSION: 13,
    Category.INTERNAL: 1,
}

HTTP_STATUS: dict[Category, int] = {
    Category.INVALID_SPEC: 400,
    Category.NOT_FOUND: 404,
    Category.CONFLICT: 409,
    Category.UNAVAILABLE: 503,
    Category.PERMISSION: 403,
    Category.INTERNAL: 500,
}


class Location:
    """Where in the user's input an error is: file, 1-based line and column, dotted key path.

    An immutable value compared by value, written out by hand: every command imports this module
    (which imports nothing of stackfile's), and neither ``dataclasses`` (~7 ms, it imports
    ``inspect``) nor ``typing.NamedTuple`` (~3 ms for ``typing``) should be paid by ``container run``.
    It keeps the NamedTuple API it had: ``_fields``, ``_replace``, ``_asdict``, iteration."""

    __slots__ = ("column", "file", "key_path", "line")
    _fields = ("file", "line", "column", "key_path")

    file: str | None
    line: int | None
    column: int | None
    key_path: str | None

    def __init__(self, file: str | None = None, line: int | None = None, column: int | None = None,
                 key_path: str | None = None) -> None:
        set_ = object.__setattr__
        set_(self, "file", file)
        set_(self, "line", line)
        set_(self, "column", column)
        set_(self, "key_path", key_path)

    def _replace(self, **changes: str | int | None) -> Location:
        unknown = [name for name in changes if name not in self._fields]
        if unknown:
            raise ValueError(f"Got unexpected field names: {unknown!r}")
        return Location(**{**self._asdict(), **changes})  # type: ignore[arg-type]

    def _asdict(self) -> dict[str, str | int | None]:
        return {"file": self.file, "line": self.line, "column": self.column, "key_path": self.key_path}

    def _values(self) -> tuple[str | int | None, ...]:
        return (self.file, self.line, self.column, self.key_path)

    def __iter__(self) -> Iterator[str | int | None]:
        return iter(self._values())

    def __eq__(self, other: object) -> bool:
        return self._values() == other._values() if type(other) is Location else NotImplemented

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        return (f"Location(file={self.file!r}, line={self.line!r}, column={self.column!r}, "
                f"key_path={self.key_path!r})")

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Location is immutable: use _replace()")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("Location is immutable")

    def __reduce__(self) -> tuple[type[Location], tuple[str | int | None, ...]]:
        return (Location, self._values())

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = self.file
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
        if self.key_path:
            where = f"{where} ({self.key_path})" if where else self.key_path
        return where


class StackfileError(Exception):
    """Base of every error stackfile raises on purpose."""

    category: Category = Category.INTERNAL
    also: tuple[StackfileError, ...] = ()  # more errors found in the same pass (all of a file's)

    def __init__(
        self,
        message: str,
        *,
        location: Location | None = None,
        hint: str | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.location = location
        self.hint = hint
        self.detail = detail

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.category]

    @property
    def http_status(self) -> int:
        return HTTP_STATUS[self.category]

    def with_location(self, location: Location) -> StackfileError:
        """Return the same error pointing at ``location`` (kept when one is already set)."""
        if self.location is None or not (self.location.file or self.location.line):
            self.location = location
        return self

    def render(self) -> str:
        """The one-line-plus-hint text the CLI prints."""
        text = self.message
        if self.location is not None and str(self.location):
            text = f"{self.location}: {text}"
        if self.detail:
            text += "\n" + self.detail.rstrip()
        if self.hint:
            text += f"\nhint: {self.hint}"
        for other in self.also:
            text += f"\nerror: {other.render()}"
        return text

    def to_dict(self) -> dict[str, object]:
        """JSON form used by the REST API and ``--json`` output."""
        loc = self.location
        return {
            "category": self.category.value,
            "message": self.message,
            "file": loc.file if loc else None,
            "line": loc.line if loc else None,
            "column": loc.column if loc else None,
            "key_path": loc.key_path if loc else None,
            "hint": self.hint,
            **({"also": [e.to_dict() for e in self.also]} if self.also else {}),
        }

    def __str__(self) -> str:
        return self.render()


class InvalidSpec(StackfileError):
    """The user's input (stack file, Dockerfile, flag value) is not valid."""

    category = Category.INVALID_SPEC


class NotFound(StackfileError):
    """A named object (service, image, container, network, volume, file) does not exist."""

    category = Category.NOT_FOUND


class Conflict(StackfileError):
    """The request clashes with existing state (name in use, port taken, object busy)."""

    category = Category.CONFLICT


class Unavailable(StackfileError):
    """Something needed is not there: a kernel feature, a host tool, a daemon, a registry."""

    category = Category.UNAVAILABLE


class PermissionDenied(StackfileError):
    """The caller may not do this (not root, read-only path)."""

    category = Category.PERMISSION


class Internal(StackfileError):
    """A bug or an unexpected failure of the host; carries what we know."""

    category = Category.INTERNAL
