"""The one error root of stackfile.

Every error a user can see is a :class:`StackfileError` of one closed category. The category
decides the CLI exit code and the HTTP status; the error carries the message, where it happened
(file:line:col and the dotted key path) and a hint saying what would be valid.
"""

from __future__ import annotations

import enum
from typing import NamedTuple

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


class Location(NamedTuple):
    """Where in the user's input an error is: file, 1-based line and column, dotted key path.

    A NamedTuple, not a dataclass: every command imports this module, and ``dataclasses`` costs
    ~7 ms to import (it imports ``inspect``), which ``container run`` should not pay."""

    file: str | None = None
    line: int | None = None
    column: int | None = None
    key_path: str | None = None

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
